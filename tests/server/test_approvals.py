"""Issue 14: four-eyes approvals with a TOTP code each, through the server's approval gate.

Each test attacks one guard: the triggerer, a commit author, a replayed code, the same
person twice, an expired approval, a trust or ref the environment does not allow."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from bastion.engine import ApprovalDecision, ApprovalRequest
from bastion.server.approval_gate import ServerApprovalGate
from bastion.server.approvals import Approvals, Decision, RequestState, Vote
from bastion.server.environments import EnvironmentSettings
from bastion.server.errors import ForbiddenError
from bastion.server.release_facts import sbom_diff
from bastion.server.totp import Totp
from bastion.trust import RunContext, Trust
from tests.server.conftest import Server


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "app.py").write_text("print(1)\n")
    _git(path, "add", ".")
    who = {"NAME": "mallory", "EMAIL": "mallory@example.com"}
    env = {
        **os.environ,
        **{f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER") for k, v in who.items()},
    }
    subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", "change"], env=env, check=True)
    return path


class Held:
    """A gate waiting on its own thread, as the engine runs it."""

    def __init__(self, gate: ServerApprovalGate, request: ApprovalRequest) -> None:
        self.cancel = threading.Event()
        self.decision: ApprovalDecision | None = None
        self.thread = threading.Thread(target=self._run, args=(gate, request), daemon=True)
        self.thread.start()

    def _run(self, gate: ServerApprovalGate, request: ApprovalRequest) -> None:
        self.decision = gate(request, self.cancel)

    def join(self) -> ApprovalDecision:
        self.thread.join(10)
        assert self.decision is not None
        return self.decision


@pytest.fixture
def approvals(server: Server) -> Approvals:
    approvals = Approvals(server.db, server.clock, Totp(server.db, server.clock), server.audit)
    approvals.environments.put(EnvironmentSettings("production", required_approvals=2))
    return approvals


def _person(server: Server, name: str) -> tuple[int, pyotp.TOTP]:
    user, _token = server.accounts.add(name)
    totp = Totp(server.db, server.clock)
    secret = totp.begin(user.id).secret
    server.clock.advance(seconds=30)
    totp.confirm(user.id, pyotp.TOTP(secret).at(server.clock.now))
    return user.id, pyotp.TOTP(secret)


def _vote(
    server: Server,
    who: tuple[int, pyotp.TOTP],
    name: str,
    *,
    fresh: bool = True,
    decision: Decision = Decision.APPROVE,
) -> Vote:
    if fresh:
        server.clock.advance(seconds=30)
    return Vote(who[0], name, f"user:{name}", decision, who[1].at(server.clock.now))


def _request(
    repo: Path, trust: Trust = Trust.TRUSTED, ref: str = "refs/heads/main"
) -> ApprovalRequest:
    context = RunContext("acme/api", _git(repo, "rev-parse", "HEAD"), ref, "push", trust)
    return ApprovalRequest(
        7, "deploy", "production", context, (("dist/app.whl", "sha256:" + "a" * 64),)
    )


def _open(approvals: Approvals, repo: Path, triggered_by: str = "trig") -> tuple[Held, int]:
    gate = ServerApprovalGate(approvals, repo, triggered_by, poll_seconds=0.02)
    held = Held(gate, _request(repo))
    for _ in range(500):
        rows = approvals.pending()
        if rows:
            return held, rows[-1].id
        threading.Event().wait(0.01)
    raise AssertionError("no request opened")


@pytest.fixture
def opened(approvals: Approvals, repo: Path) -> Iterator[tuple[Held, int]]:
    held, request_id = _open(approvals, repo)
    yield held, request_id
    held.cancel.set()


def test_two_distinct_approvers_with_totp_let_the_job_run(
    server: Server, approvals: Approvals, opened: tuple[Held, int]
) -> None:
    held, rid = opened
    alice, bob = _person(server, "alice"), _person(server, "bob")
    assert approvals.decide(rid, _vote(server, alice, "alice")) is RequestState.PENDING
    assert approvals.decide(rid, _vote(server, bob, "bob")) is RequestState.APPROVED
    assert held.join().approved
    actions = server.audit.actions()
    assert {"approval.requested", "approval.approve", "approval.approved"} <= set(actions)


def test_the_triggerer_and_a_commit_author_are_refused(
    server: Server, approvals: Approvals, opened: tuple[Held, int]
) -> None:
    _held, rid = opened
    trig, mallory = _person(server, "trig"), _person(server, "mallory")
    with pytest.raises(ForbiddenError, match="you triggered this run"):
        approvals.decide(rid, _vote(server, trig, "trig"))
    with pytest.raises(ForbiddenError, match="wrote or committed"):
        approvals.decide(rid, _vote(server, mallory, "mallory"))
    assert approvals.poll(rid) is RequestState.PENDING
    denied = [e for e in server.audit.events if e.action == "approval.approve"]
    assert all(e.outcome.value == "denied" for e in denied)
    assert len(denied) == 2


def test_same_person_twice_counts_once_and_a_replayed_code_is_refused(
    server: Server, approvals: Approvals, opened: tuple[Held, int]
) -> None:
    _held, rid = opened
    alice = _person(server, "alice")
    vote = _vote(server, alice, "alice")
    approvals.decide(rid, vote)
    with pytest.raises(ForbiddenError, match="already used"):
        approvals.decide(rid, vote)  # the same code again
    assert approvals.decide(rid, _vote(server, alice, "alice")) is RequestState.PENDING


def test_an_expired_approval_does_not_count(
    server: Server, approvals: Approvals, opened: tuple[Held, int]
) -> None:
    _held, rid = opened
    alice, bob = _person(server, "alice"), _person(server, "bob")
    approvals.decide(rid, _vote(server, alice, "alice"))
    server.clock.advance(hours=5)  # past the 4 h approval ttl
    assert approvals.decide(rid, _vote(server, bob, "bob")) is RequestState.PENDING


def test_a_rejection_stops_the_job(
    server: Server, approvals: Approvals, opened: tuple[Held, int]
) -> None:
    held, rid = opened
    carol = _person(server, "carol")
    approvals.decide(rid, _vote(server, carol, "carol", decision=Decision.REJECT))
    decision = held.join()
    assert not decision.approved
    assert "rejected" in decision.reason


@pytest.mark.parametrize(
    ("trust", "ref", "why"),
    [
        (Trust.INTERNAL, "refs/heads/main", "trust internal"),
        (Trust.TRUSTED, "refs/heads/dev", "ref"),
    ],
)
def test_a_trust_or_ref_not_allowed_is_refused_without_asking(
    approvals: Approvals, repo: Path, server: Server, trust: Trust, ref: str, why: str
) -> None:
    gate = ServerApprovalGate(approvals, repo, "trig", poll_seconds=0.01)
    decision = gate(_request(repo, trust, ref), threading.Event())
    assert not decision.approved
    assert why in decision.reason
    assert approvals.pending() == []
    assert "approval.refused" in server.audit.actions()


def test_an_unconfigured_environment_is_refused(approvals: Approvals, repo: Path) -> None:
    request = _request(repo)
    other = ApprovalRequest(1, "deploy", "staging", request.context)
    gate = ServerApprovalGate(approvals, repo, None, poll_seconds=0.01)
    assert not gate(other, threading.Event()).approved


def test_sbom_diff_names_added_removed_and_upgraded_packages() -> None:
    diff = sbom_diff(
        {"flask": "2.0.0", "six": "1.16.0", "a": "x"},
        {"flask": "3.0.1", "requests": "2.32.0", "a": "y"},
    )
    assert diff.added == (("requests", "2.32.0"),)
    assert diff.removed == (("six", "1.16.0"),)
    assert diff.upgraded == (("flask", "2.0.0", "3.0.1"),)
    assert diff.changed == (("a", "x", "y"),)
