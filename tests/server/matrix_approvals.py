"""The approval routes' part of the permission matrix (issue 14): requests (list, show,
approve, reject; API and pages) and environments. Each vote acts on a request of its own,
opened here for the registered repository ``app`` by someone else, so every role holding
the permission succeeds with its fresh TOTP code."""

from __future__ import annotations

from collections.abc import Callable

from bastion.engine import ApprovalRequest
from bastion.server import Role
from bastion.server.approvals import Approvals
from bastion.server.environments import EnvironmentSettings
from bastion.trust import RunContext, Trust
from tests.server.matrix_model import ADMIN, ALL, Call, Caller, Entry

DECIDERS = frozenset({Role.MAINTAINER, Role.SECURITY, Role.ADMIN})
APPROVAL_MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/api/approvals"): Entry("approvals.read", ALL, refusal=404),
    ("GET", "/api/approvals/{request_id}"): Entry("approvals.read", ALL, refusal=404),
    ("POST", "/api/approvals/{request_id}/approve"): Entry("approvals.decide", DECIDERS),
    ("POST", "/api/approvals/{request_id}/reject"): Entry("approvals.decide", DECIDERS),
    ("GET", "/api/environments"): Entry("environments.manage", ADMIN),
    ("PUT", "/api/environments/{environment}"): Entry("environments.manage", ADMIN),
    ("GET", "/approvals"): Entry("approvals.read", ALL, refusal=404),
    ("GET", "/approvals/{request_id}"): Entry("approvals.read", ALL, refusal=404),
    ("POST", "/approvals/{request_id}/approve"): Entry("approvals.decide", DECIDERS),
    ("POST", "/approvals/{request_id}/reject"): Entry("approvals.decide", DECIDERS),
}
APPROVAL_PLACEHOLDERS: dict[str, object] = {"request_id": 1, "environment": "production"}


def open_request(caller: Caller) -> int:
    """A new pending request of ``app`` to production, triggered by someone else."""
    ctx = caller.ctx
    approvals = Approvals(caller.server.db, caller.server.clock, ctx.totp, caller.server.audit)
    settings = EnvironmentSettings("production", required_approvals=2)
    approvals.environments.put(settings)
    context = RunContext("app", "0" * 40, "refs/heads/main", "push", Trust.TRUSTED)
    request = ApprovalRequest(caller.run_id, "deploy", "production", context)
    return approvals.open(request, settings, "setup", {"people": [], "artifacts": []})


def _vote(caller: Caller, decision: str) -> Call:
    url = f"/api/approvals/{open_request(caller)}/{decision}"
    return Call(url, json={"code": caller.fresh_code(), "comment": "matrix"})


def _form_vote(caller: Caller, decision: str) -> Call:
    url = f"/approvals/{open_request(caller)}/{decision}"
    return Call(url, data={"code": caller.fresh_code(), "comment": "matrix"})


APPROVAL_CALLS: dict[tuple[str, str], Callable[[Caller], Call]] = {
    ("GET", "/api/approvals"): lambda c: Call("/api/approvals"),
    ("GET", "/api/approvals/{request_id}"): lambda c: Call(f"/api/approvals/{open_request(c)}"),
    ("POST", "/api/approvals/{request_id}/approve"): lambda c: _vote(c, "approve"),
    ("POST", "/api/approvals/{request_id}/reject"): lambda c: _vote(c, "reject"),
    ("GET", "/api/environments"): lambda c: Call("/api/environments"),
    ("PUT", "/api/environments/{environment}"): lambda c: Call(
        "/api/environments/production", json={"required_approvals": 2}
    ),
    ("GET", "/approvals"): lambda c: Call("/approvals"),
    ("GET", "/approvals/{request_id}"): lambda c: Call(f"/approvals/{open_request(c)}"),
    ("POST", "/approvals/{request_id}/approve"): lambda c: _form_vote(c, "approve"),
    ("POST", "/approvals/{request_id}/reject"): lambda c: _form_vote(c, "reject"),
}
