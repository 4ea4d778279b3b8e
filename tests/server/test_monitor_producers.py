"""The monitor's approval rules fed by the server's own approvals (issue 16): votes cast
through :class:`Approvals` are audited as ``approval.approve`` and the evaluator, reading
that audit log, raises the new-approver alert; a refused vote raises nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.audit import AuditLog
from bastion.monitor import AlertStore, Evaluator, PlainText, builtin_rules
from bastion.server.approvals import Approvals
from bastion.server.auditing import LogAuditSink
from bastion.server.environments import EnvironmentSettings
from bastion.server.errors import ForbiddenError
from bastion.server.totp import Totp
from tests.server.conftest import Server
from tests.server.test_approvals import _open, _person, _vote, repo

__all__ = ["repo"]  # the fixture, shared with the approval tests


def test_server_votes_feed_the_new_approver_rule(server: Server, repo: Path) -> None:
    log = AuditLog(server.db, witness=None)
    approvals = Approvals(server.db, server.clock, Totp(server.db, server.clock),
                          LogAuditSink(log))  # fmt: skip
    approvals.environments.put(EnvironmentSettings("production", required_approvals=2))
    alice, bob, carol = (_person(server, n) for n in ("alice", "bob", "carol"))
    first, request = _open(approvals, repo)
    approvals.decide(request, _vote(server, alice, "alice"))  # the first approver: learned
    with pytest.raises(ForbiddenError):  # a replayed code is refused: it approved nothing
        approvals.decide(request, _vote(server, alice, "alice", fresh=False))
    approvals.decide(request, _vote(server, bob, "bob"))
    assert first.join().approved
    second, request = _open(approvals, repo)
    dave = _person(server, "dave")
    with pytest.raises(ForbiddenError):  # dave's code was just used to enrol: refused
        approvals.decide(request, _vote(server, dave, "dave", fresh=False))
    approvals.decide(request, _vote(server, alice, "alice"))
    approvals.decide(request, _vote(server, carol, "carol"))
    assert second.join().approved
    Evaluator(server.db, builtin_rules(), PlainText()).run_once(log.entries)
    alerts = AlertStore(server.db).list(limit=10)
    assert sorted((a.rule, a.title) for a in alerts) == [
        ("approval-new-approver", "user:bob approved production for the first time"),
        ("approval-new-approver", "user:carol approved production for the first time"),
    ]
