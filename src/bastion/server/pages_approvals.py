"""Web pages of the deploy approvals (issue 14): the pending requests, and one request with
what it ships (:mod:`bastion.server.approval_view`) and a form to approve or reject it with
the caller's TOTP code (CSRF-checked like every form; no script)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bastion.server.api_approvals import approvals_of, cast_vote, visible_request
from bastion.server.api_findings import triage_store
from bastion.server.approval_view import approval_facts
from bastion.server.approvals import Decision, RequestState
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.errors import ServerError
from bastion.server.page_render import render
from bastion.server.params import RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.routing import guarded
from bastion.server.schemas_approvals import VoteBody

__all__ = ["router"]

router = APIRouter()
ApprovalsReader = Annotated[Principal, Depends(authorize(Permission.APPROVALS_READ))]
ApprovalsDecider = Annotated[Principal, Depends(authorize(Permission.APPROVALS_DECIDE))]
Code = Annotated[str, Form(max_length=16)]
Comment = Annotated[str, Form(max_length=1000)]
_CODE = re.compile(r"[0-9]{6}")


@router.get("/approvals", **guarded(Permission.APPROVALS_READ))
def approvals(request: Request, principal: ApprovalsReader) -> HTMLResponse:
    """Requests waiting for approval in the repositories the caller may see."""
    rows = [
        r
        for r in approvals_of(request).pending()
        if principal.may(Permission.APPROVALS_READ, r.repo)
    ]
    return render(
        request, principal, "approvals.html", title="Approvals", active="/approvals", rows=rows
    )


def _page(request: Request, principal: Principal, request_id: int, **extra: Any) -> HTMLResponse:
    """One request's page (404 for one the caller may not see)."""
    row, votes = visible_request(request, principal, request_id)
    ctx, store = context_of(request), triage_store(request)
    accepted = store.list(row.repo)
    facts = approval_facts(ctx.services.db, ctx.services.resources, row, accepted, store.today())
    pending = row.state == RequestState.PENDING.value
    return render(
        request,
        principal,
        "approval.html",
        title=f"Approval {row.id}: {row.job} to {row.environment}",
        active="/approvals",
        row=row,
        votes=votes,
        facts=facts,
        may_decide=pending and principal.may(Permission.APPROVALS_DECIDE, row.environment),
        **extra,
    )


@router.get("/approvals/{request_id}", **guarded(Permission.APPROVALS_READ))
def approval(request: Request, request_id: RowId, principal: ApprovalsReader) -> HTMLResponse:
    """What the request ships, the votes so far, and the voting form."""
    return _page(request, principal, request_id)


def _vote(
    request: Request,
    principal: Principal,
    request_id: int,
    decision: Decision,
    code: str,
    comment: str,
) -> Response:
    """Cast the vote from the form; the page again with the refusal's reason if refused."""
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        error = "enter the six-digit code of your authenticator app"
        return _page(request, principal, request_id, status=400, error=error)
    try:
        cast_vote(request, principal, request_id, decision, VoteBody(code=code, comment=comment))
    except ServerError as exc:
        return _page(request, principal, request_id, status=exc.status, error=exc.message)
    return RedirectResponse(f"/approvals/{request_id}", status_code=303)


@router.post("/approvals/{request_id}/approve", **guarded(Permission.APPROVALS_DECIDE))
def approve(
    request: Request,
    request_id: RowId,
    principal: ApprovalsDecider,
    code: Code = "",
    comment: Comment = "",
) -> Response:
    """Approve from the form with the TOTP code."""
    return _vote(request, principal, request_id, Decision.APPROVE, code, comment)


@router.post("/approvals/{request_id}/reject", **guarded(Permission.APPROVALS_DECIDE))
def reject(
    request: Request,
    request_id: RowId,
    principal: ApprovalsDecider,
    code: Code = "",
    comment: Comment = "",
) -> Response:
    """Reject from the form with the TOTP code."""
    return _vote(request, principal, request_id, Decision.REJECT, code, comment)
