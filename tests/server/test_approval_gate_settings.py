"""An approved job is released against its environment's settings as they are when it
would deploy, not as they were when its request opened (issue 14 review): a deploy window
added while the job sat in its wait timer holds it, and an environment that no longer takes
the run's ref or trust refuses it (audited), instead of the stale settings letting it through.

The server's test clock starts on Tuesday 2030-01-01 12:00 UTC."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from bastion.server.approvals import Approvals, RequestState
from bastion.server.environments import EnvironmentSettings
from bastion.trust import Trust
from tests.server.conftest import Server
from tests.server.test_approvals import Held, _open, _person, _vote, approvals, repo

__all__ = ["approvals", "repo"]  # the fixtures, shared with the approval tests

WAIT = 1  # seconds of wait timer, during which the settings change


def _approve_with_wait_timer(server: Server, approvals: Approvals, repo: Path) -> tuple[Held, int]:
    approvals.environments.put(
        EnvironmentSettings("production", required_approvals=2, wait_timer=WAIT)
    )
    held, rid = _open(approvals, repo)
    alice, bob = _person(server, "alice"), _person(server, "bob")
    approvals.decide(rid, _vote(server, alice, "alice"))
    assert approvals.decide(rid, _vote(server, bob, "bob")) is RequestState.APPROVED
    return held, rid


def test_a_window_added_during_the_wait_timer_holds_the_job(
    server: Server, approvals: Approvals, repo: Path
) -> None:
    held, _rid = _approve_with_wait_timer(server, approvals, repo)
    try:
        # A change freeze set while the job waits: only Saturdays from now on.
        approvals.environments.put(
            EnvironmentSettings(
                "production",
                required_approvals=2,
                wait_timer=WAIT,
                deploy_windows=("Sat 10:00-12:00 UTC",),
            )
        )
        threading.Event().wait(WAIT + 0.8)
        assert held.decision is None
        server.clock.now = server.clock.now.replace(hour=10, minute=30) + timedelta(days=4)
        assert held.join().approved
    finally:
        held.cancel.set()


def test_an_environment_that_no_longer_takes_the_run_refuses_it(
    server: Server, approvals: Approvals, repo: Path
) -> None:
    held, rid = _approve_with_wait_timer(server, approvals, repo)
    try:
        # Production now deploys only signed releases: this trusted push may not go.
        approvals.environments.put(
            EnvironmentSettings(
                "production", required_approvals=2, wait_timer=WAIT, required_trust=Trust.RELEASE
            )
        )
        decision = held.join()
        assert not decision.approved
        assert decision.reason == (
            f"approval request {rid}: a run of trust trusted may not deploy to production "
            "(needs release)"
        )
        assert "approval.refused" in server.audit.actions()
    finally:
        held.cancel.set()
