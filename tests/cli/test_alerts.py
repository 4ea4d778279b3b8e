"""`bastion alerts list|ack|resolve|evaluate` and `bastion kpi` as a user types them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.cli.alerts import parse_since, register
from bastion.errors import UsageError
from bastion.store import open_database, sqlite_url


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "state.db")
    log = AuditLog(open_database(url), witness=None)
    log.append(AuditEvent("user:ci", "verify.performed", "sha256:aa", Outcome.DENIED))
    return url


def test_evaluate_list_ack_resolve(app: typer.Typer, url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["alerts", "evaluate", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"events": 1, "opened": [1]}
    listed = json.loads(runner.invoke(app, ["alerts", "list", "--db", url, "--json"]).stdout)
    assert [(a["rule"], a["state"]) for a in listed] == [("verify-failed", "open")]
    acked = runner.invoke(
        app, ["alerts", "ack", "1", "--reason", "test artifact", "--db", url, "--json"]
    )
    assert json.loads(acked.stdout)["state"] == "acknowledged"
    done = runner.invoke(app, ["alerts", "resolve", "1", "--db", url, "--json"])
    assert json.loads(done.stdout)["state"] == "resolved"


def test_a_bad_rule_file_names_file_and_line(app: typer.Typer, url: str, tmp_path: Path) -> None:
    rules = tmp_path / "monitor.yml"
    rules.write_text("version: 1\ndisabled: [nope]\n")
    result = CliRunner().invoke(app, ["alerts", "evaluate", "--db", url, "--rules", str(rules)])
    assert result.exception is not None
    assert getattr(result.exception, "line", None) == 2


def test_kpi_on_an_empty_database(app: typer.Typer, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "empty.db")
    result = CliRunner().invoke(app, ["kpi", "--db", url, "--json", "--since", "30d"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["no_data"] is True


def test_since() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    assert parse_since("2d", now) == datetime(2026, 3, 8, tzinfo=UTC)
    assert parse_since("2026-03-01", now) == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_since("yesterday", now)


def test_kpi_text_names_every_kpi_and_says_no_data(app: typer.Typer, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "empty.db")
    store = tmp_path / "artifacts"
    result = CliRunner().invoke(app, ["kpi", "--db", url, "--store", str(store)])
    assert result.exit_code == 0, result.output
    for line in ("approval latency", "audit readiness", "SBOM completeness",
                 "secret-leak incidents", "coverage sast", "coverage image"):  # fmt: skip
        assert line in result.stdout
    assert "no data" in result.stdout


def test_kpi_json_carries_the_new_kpis(app: typer.Typer, url: str) -> None:
    result = CliRunner().invoke(app, ["kpi", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["approval_latency"] == {}
    assert report["secret_leaks_by_month"] == {}
    assert report["audit_readiness"]["deploys"] == 0
    assert report["sbom_completeness"]["artifacts"] == 0
    assert report["security_coverage"]["repositories"] == 0


def test_since_takes_every_duration_unit_and_refuses_what_dates_cannot_reach() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert parse_since("30m", now) == datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
    assert parse_since("1w", now) == datetime(2026, 3, 3, 12, tzinfo=UTC)
    with pytest.raises(UsageError, match="reaches back before year 1"):
        parse_since("999999w", now)
    for text in ("0d", "1000000d"):
        with pytest.raises(UsageError, match="is not a duration or a date"):
            parse_since(text, now)
