"""``bastion serve`` for real (a subprocess on a free loopback port) and ``bastion users``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.audit import AuditLog
from bastion.cli.users import register
from bastion.server import ConflictError
from bastion.store import open_database, sqlite_url
from tests.server.browser import live_server


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def audit_report(env: dict[str, str], url: str) -> dict[str, object]:
    bastion = Path(sys.executable).with_name("bastion")
    done = subprocess.run(
        [str(bastion), "audit", "verify", "--db", url, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


@pytest.mark.integration
def test_serve_answers_then_stops_on_sigterm_with_its_audit_log_sealed(tmp_path: Path) -> None:
    with live_server(tmp_path) as served:
        assert get(f"{served.base_url}/api/health") == 200
        link = served.setup_link()
        assert get(link) == 200
        assert get(f"{served.base_url}/setup/not-a-link") == 404
        assert get(f"{served.base_url}/api/me") == 401  # a refusal: one more audit event
        # uvicorn shuts down (lifespan included), then re-raises SIGTERM for the supervisor.
        assert served.stop() in (0, -signal.SIGTERM)
    assert "Traceback" not in served.stderr()
    report = audit_report(served.env, served.database_url)
    assert report["ok"] is True
    assert report["size"] == 2  # the first admin's creation, the refused request
    assert report["checkpoint_size"] == 2  # sealed by the shutdown hook, nothing left over


def users_cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Keep `users` a sub-command."""

    return app


def test_users_commands_print_the_setup_link_and_write_audit_events(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "server.db")
    app = users_cli()
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "bob", "--role", "developer", "--db", url])
    assert added.exit_code == 0, added.output
    assert added.stdout.startswith("http://127.0.0.1:8080/setup/")
    listed = runner.invoke(app, ["users", "list", "--db", url, "--json"])
    assert json.loads(listed.stdout)[0]["grants"][0]["role"] == "developer"
    for command in ("disable", "reset-mfa"):
        done = runner.invoke(app, ["users", command, "bob", "--db", url])
        assert done.exit_code == 0, done.output
    taken = runner.invoke(app, ["users", "add", "bob", "--db", url])
    assert isinstance(taken.exception, ConflictError)  # bastion's main maps it to exit 2
    db = open_database(url)
    try:
        log = AuditLog(db, witness=None)
        events = [log.entry(i).event for i in range(log.size())]
    finally:
        db.dispose()
    assert [(e.action, e.subject) for e in events] == [
        ("user.created", "user/bob"),
        ("user.disabled", "user/bob"),
        ("mfa.reset", "user/bob"),
    ]
    assert all(e.actor.startswith("host:") and e.details["via"] == "cli" for e in events)
    assert events[0].details["role"] == "developer"
