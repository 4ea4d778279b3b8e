"""Approvals and environments over HTTP (issue 14).

Anyone who may see a repository's runs sees its approval requests (``approvals.read``; a
request of another repository is a 404 like an unknown one). Approving or rejecting needs
``approvals.decide`` on the request's environment and the caller's TOTP code of that
moment in the body: a wrong or replayed code, the run's triggerer or an author of a commit
since the last deploy is a 403 saying why (audited); a request already decided is a 409.
An environment's rules are the admins' (``environments.manage``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bastion.server.approval_records import ApprovalRequestRecord, ApprovalVoteRecord
from bastion.server.approvals import Approvals, Decision, Vote
from bastion.server.auditing import ServerAction
from bastion.server.auth import authorize, require_on
from bastion.server.context import context_of
from bastion.server.params import RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.recording import record
from bastion.server.routing import guarded
from bastion.server.schemas_approvals import (
    ApprovalOut,
    ApprovalsOut,
    EnvironmentBody,
    EnvironmentOut,
    EnvironmentsOut,
    VoteBody,
    approval_out,
    environment_out,
)

__all__ = ["approvals_of", "cast_vote", "router", "visible_request"]

router = APIRouter(prefix="/api")
ApprovalsReader = Annotated[Principal, Depends(authorize(Permission.APPROVALS_READ))]
ApprovalsDecider = Annotated[Principal, Depends(authorize(Permission.APPROVALS_DECIDE))]
EnvironmentsManager = Annotated[Principal, Depends(authorize(Permission.ENVIRONMENTS_MANAGE))]
Request_ = tuple[ApprovalRequestRecord, list[ApprovalVoteRecord]]


def approvals_of(request: Request) -> Approvals:
    """The approvals over the app's database, clock, TOTP and audit log."""
    ctx = context_of(request)
    services = ctx.services
    return Approvals(services.db, services.clock, ctx.totp, services.audit)


def visible_request(request: Request, principal: Principal, request_id: int) -> Request_:
    """A request and its votes, brought up to date; 404 for one the caller may not see."""
    approvals = approvals_of(request)
    row, _votes = approvals.get(request_id)
    missing = f"no approval request {request_id}"
    require_on(request, principal, Permission.APPROVALS_READ, row.repo, missing=missing)
    approvals.poll(request_id)  # expired by now, or decided by the approvals still counting
    return approvals.get(request_id)


def cast_vote(
    request: Request,
    principal: Principal,
    request_id: int,
    decision: Decision,
    body: VoteBody,
) -> Request_:
    """Record the caller's vote (403 with the reason, 409 if decided); the request after."""
    row, _votes = visible_request(request, principal, request_id)
    require_on(request, principal, Permission.APPROVALS_DECIDE, row.environment)
    vote = Vote(
        principal.user_id, principal.name, principal.actor, decision, body.code, body.comment
    )
    approvals_of(request).decide(request_id, vote)
    return approvals_of(request).get(request_id)


@router.get("/approvals", **guarded(Permission.APPROVALS_READ))
def approvals(request: Request, principal: ApprovalsReader) -> ApprovalsOut:
    """Pending requests of the repositories the caller may see, oldest first."""
    found = approvals_of(request)
    rows = [r for r in found.pending() if principal.may(Permission.APPROVALS_READ, r.repo)]
    return ApprovalsOut(approvals=[approval_out(*found.get(r.id)) for r in rows])


@router.get("/approvals/{request_id}", **guarded(Permission.APPROVALS_READ))
def approval(request: Request, request_id: RowId, principal: ApprovalsReader) -> ApprovalOut:
    """One request: what it ships and the votes so far."""
    return approval_out(*visible_request(request, principal, request_id))


@router.post("/approvals/{request_id}/approve", **guarded(Permission.APPROVALS_DECIDE))
def approve(
    request: Request, request_id: RowId, body: VoteBody, principal: ApprovalsDecider
) -> ApprovalOut:
    """Approve with the caller's TOTP code; 403 (why) or 409 (decided already)."""
    return approval_out(*cast_vote(request, principal, request_id, Decision.APPROVE, body))


@router.post("/approvals/{request_id}/reject", **guarded(Permission.APPROVALS_DECIDE))
def reject(
    request: Request, request_id: RowId, body: VoteBody, principal: ApprovalsDecider
) -> ApprovalOut:
    """Reject with the caller's TOTP code: one rejection stops the job."""
    return approval_out(*cast_vote(request, principal, request_id, Decision.REJECT, body))


@router.get("/environments", **guarded(Permission.ENVIRONMENTS_MANAGE))
def environments(request: Request, principal: EnvironmentsManager) -> EnvironmentsOut:
    """Every environment's rules, by name."""
    found = approvals_of(request).environments.all()
    return EnvironmentsOut(environments=[environment_out(e) for e in found])


@router.put("/environments/{environment}", **guarded(Permission.ENVIRONMENTS_MANAGE))
def put_environment(
    request: Request, environment: str, body: EnvironmentBody, principal: EnvironmentsManager
) -> EnvironmentOut:
    """Create or change an environment's rules (what is deployed there is kept); audited."""
    settings = body.settings(environment)
    approvals_of(request).environments.put(settings)
    record(
        request,
        principal.actor,
        ServerAction.ENVIRONMENT_CHANGED,
        f"environment/{environment}",
        required_approvals=settings.required_approvals,
        required_trust=settings.required_trust.value,
        allowed_refs=",".join(settings.allowed_refs),
        deploy_windows="; ".join(settings.deploy_windows),
    )
    return environment_out(settings)
