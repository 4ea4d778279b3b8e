"""Issue 14 wired end to end: a run the server launches holds its ``environment:`` job until
two distinct people approve with a TOTP code each; the person who triggered it may not."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from bastion.home import bastion_home
from bastion.server import Accounts, Role, ServerServices, ServerSettings, create_app
from bastion.server.approval_records import ApprovalRequestRecord
from bastion.server.approvals import Approvals, Decision, RequestState, Vote
from bastion.server.environments import EnvironmentSettings
from bastion.server.errors import ForbiddenError
from bastion.server.launcher import RunLauncher
from bastion.server.totp import Totp
from bastion.server.triage import ServerSuppressions
from bastion.store import open_database, sqlite_url
from tests.server.conftest import Clock, ListSink, Server
from tests.server.test_runs_api import register, trigger, work_tree

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SHIP = """\
name: ship
on: [push]
jobs:
  deploy:
    environment: production
    steps:
      - name: go
        run: echo shipped
"""


class Approving:
    """A live server whose launcher asks its approvals, and those approvals."""

    def __init__(self, server: Server, approvals: Approvals, launcher: RunLauncher) -> None:
        self.server, self.approvals, self.launcher = server, approvals, launcher

    def person(self, name: str) -> tuple[int, pyotp.TOTP]:
        """An account (made unless it exists) with TOTP confirmed."""
        accounts = self.server.accounts
        user = accounts.by_name(name) if name == "root" else accounts.add(name)[0]
        totp = Totp(self.server.db, self.server.clock)
        secret = totp.begin(user.id).secret
        self.server.clock.advance(seconds=30)
        totp.confirm(user.id, pyotp.TOTP(secret).at(self.server.clock.now))
        return user.id, pyotp.TOTP(secret)

    def vote(self, who: tuple[int, pyotp.TOTP], name: str) -> Vote:
        """An approval with a fresh code."""
        self.server.clock.advance(seconds=30)
        code = who[1].at(self.server.clock.now)
        return Vote(who[0], name, f"user:{name}", Decision.APPROVE, code)

    def opened(self) -> ApprovalRequestRecord:
        """The request the run's gate opened."""
        for _ in range(1200):
            rows = self.approvals.pending()
            if rows:
                return rows[-1]
            threading.Event().wait(0.05)
        raise AssertionError("the run opened no approval request")


@pytest.fixture
def approving(tmp_path: Path) -> Iterator[Approving]:
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock, audit = Clock(), ListSink()
    approvals = Approvals(db, clock, Totp(db, clock), audit)
    approvals.environments.put(EnvironmentSettings("production", required_approvals=2))
    launcher = RunLauncher(
        db, bastion_home(), ServerSuppressions(db, clock), concurrency=1, approvals=approvals
    )
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    app = create_app(settings, ServerServices(db, audit, clock, launcher=launcher))
    client = TestClient(app, base_url="http://testserver")
    made = Server(client, db, audit, clock, Accounts(db, settings, clock), settings)
    made.add_user("root", Role.ADMIN)
    made.login("root")
    try:
        yield Approving(made, approvals, launcher)
    finally:
        launcher.close()
        client.close()
        db.dispose()


def test_a_production_job_waits_for_two_approvers_then_runs_and_is_deployed(
    approving: Approving, tmp_path: Path
) -> None:
    server = approving.server
    register(server, "app", work_tree(tmp_path / "app", SHIP))
    run_id = trigger(server, {"repo": "app", "branch": "main"})
    request = approving.opened()
    assert (request.run_id, request.job, request.triggered_by) == (run_id, "deploy", "root")
    assert not approving.launcher.wait(run_id, 0.5)  # held while nobody has approved
    root = approving.person("root")
    with pytest.raises(ForbiddenError, match="you triggered this run"):
        approving.approvals.decide(request.id, approving.vote(root, "root"))
    alice, bob = approving.person("alice"), approving.person("bob")
    approving.approvals.decide(request.id, approving.vote(alice, "alice"))
    assert approving.approvals.decide(request.id, approving.vote(bob, "bob")) is (
        RequestState.APPROVED
    )
    assert approving.launcher.wait(run_id, 120)
    shown = server.client.get(f"/api/runs/{run_id}").json()
    assert shown["status"] == "passed", shown
    assert approving.approvals.get(request.id)[0].state == RequestState.DEPLOYED.value
