"""`bastion audit verify --record` (issue 16): the outcome lands in the user's audit log as
audit.verified, and the monitor raises audit-verify-failed on a failure, and only then."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from bastion.audit import AuditTamperError
from bastion.cli.alerts import register as register_alerts
from bastion.store import sqlite_url
from tests.cli.test_audit import db_url, home, invoke, tamper

__all__ = ["db_url", "home"]  # the fixtures, shared with the audit command's tests


def _alerts(home: Path) -> list[tuple[str, str]]:
    app = typer.Typer()
    register_alerts(app)
    url = sqlite_url(home / "audit.db")
    runner = CliRunner()
    done = runner.invoke(app, ["alerts", "evaluate", "--db", url])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["alerts", "list", "--db", url, "--json"])
    return [(a["rule"], a["title"]) for a in json.loads(listed.stdout)]


def test_a_recorded_failed_verification_raises_an_alert(db_url: str, home: Path) -> None:
    passed = invoke("verify", "--db", db_url, "--record")
    assert passed.exit_code == 0, passed.output
    assert _alerts(home) == []  # a verification that passed is recorded, not alerted
    tamper(db_url)
    failed = invoke("verify", "--db", db_url, "--record")
    assert isinstance(failed.exception, AuditTamperError)
    assert _alerts(home) == [("audit-verify-failed", "the audit log does not verify")]


def test_without_record_nothing_is_appended(db_url: str, home: Path) -> None:
    tamper(db_url)
    invoke("verify", "--db", db_url)
    assert not (home / "audit.db").exists()
