"""Web pages for findings and their triage, the audit log and step-up (no script: links
and forms only; every form carries the session's CSRF token)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from bastion.server import api_findings
from bastion.server.api_audit import read_filter
from bastion.server.audit_view import audit_page
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.errors import ServerError
from bastion.server.login import perform_step_up
from bastion.server.page_render import render, safe_next
from bastion.server.pages_admin import router as admin_router
from bastion.server.params import Offset, RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.routing import guarded
from bastion.server.schemas_resources import TriageBody
from bastion.server.triage import MAX_DAYS

__all__ = ["router"]

router = APIRouter()
router.include_router(admin_router)
SignedIn = Annotated[Principal, Depends(authorize(Permission.SIGNED_IN))]
FindingsReader = Annotated[Principal, Depends(authorize(Permission.FINDINGS_READ))]
Triager = Annotated[Principal, Depends(authorize(Permission.FINDINGS_TRIAGE))]
AuditReader = Annotated[Principal, Depends(authorize(Permission.AUDIT_READ))]
Field = Annotated[str, Form(max_length=2048)]
Criterion = Annotated[str, Query(max_length=256)]
NextQuery = Annotated[str, Query(alias="next", max_length=512)]
NextField = Annotated[str, Form(alias="next", max_length=512)]
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def _findings_page(
    request: Request, principal: Principal, repository: str | None, **extra: Any
) -> HTMLResponse:
    views = api_findings.visible_findings(request, principal, repository)
    views.sort(key=lambda v: (not v.open, _SEVERITY_ORDER.get(v.severity, 5), v.repository))
    store = api_findings.triage_store(request)
    accepted = [
        a for a in store.list(repository) if principal.may(Permission.FINDINGS_READ, a.repository)
    ]
    today = store.today()
    return render(
        request,
        principal,
        "findings.html",
        title="Findings",
        active="/findings",
        findings=views,
        accepted=accepted,
        repository=repository or "",
        today=today,
        latest=today + dt.timedelta(days=MAX_DAYS),
        may_triage=lambda repo: principal.may(Permission.FINDINGS_TRIAGE, repo),
        **extra,
    )


@router.get("/findings", **guarded(Permission.FINDINGS_READ))
def findings(
    request: Request,
    principal: FindingsReader,
    repository: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> HTMLResponse:
    """Open findings first, by severity; accepted ones with owner, reason and expiry."""
    return _findings_page(request, principal, repository)


@router.post("/findings/accept", **guarded(Permission.FINDINGS_TRIAGE))
def accept(
    request: Request,
    principal: Triager,
    repository: Field,
    fingerprint: Field,
    reason: Field,
    expires: Field,
) -> Response:
    """Accept one finding as the caller (the API's checks and audit event)."""
    try:
        body = TriageBody(
            repository=repository,
            fingerprint=fingerprint,
            reason=reason,
            expires=dt.date.fromisoformat(expires),
        )
        api_findings.accept_finding(request, principal, body)
    except (ValueError, ValidationError):
        return _findings_page(
            request, principal, repository, status=400, error="give a reason and a valid date"
        )
    except ServerError as exc:
        if exc.status in (403, 404):
            raise
        return _findings_page(request, principal, repository, status=exc.status, error=exc.message)
    return RedirectResponse(f"/findings?repository={repository}", status_code=303)


@router.post("/findings/revoke/{suppression_id}", **guarded(Permission.FINDINGS_TRIAGE))
def revoke(request: Request, suppression_id: RowId, principal: Triager) -> Response:
    """End an accepted finding now."""
    item = api_findings.revoke_acceptance(request, principal, suppression_id)
    return RedirectResponse(f"/findings?repository={item.repository}", status_code=303)


@router.get("/audit", **guarded(Permission.AUDIT_READ))
def audit(
    request: Request,
    principal: AuditReader,
    actor: Criterion = "",
    action: Criterion = "",
    outcome: Criterion = "",
    subject: Criterion = "",
    offset: Offset = 0,
) -> HTMLResponse:
    """Events newest first, filtered; the banner says whether the whole log verifies."""
    ctx = context_of(request)
    log = ctx.services.resources.need_audit_log()
    wanted = read_filter(actor, action, outcome, subject)
    page = audit_page(log, wanted, offset=offset, limit=100, now=ctx.services.clock())
    return render(
        request,
        principal,
        "audit.html",
        title="Audit log",
        active="/audit",
        page=page,
        wanted=wanted,
        offset=offset,
        may_export=principal.may(Permission.AUDIT_EXPORT),
    )


@router.get("/step-up", **guarded(Permission.SIGNED_IN))
def step_up_form(request: Request, principal: SignedIn, target: NextQuery = "/") -> HTMLResponse:
    """Re-enter a TOTP code before an action that needs it."""
    return _step_up_page(request, principal, target)


def _step_up_page(
    request: Request, principal: Principal, target: str, **extra: Any
) -> HTMLResponse:
    window = context_of(request).settings.step_up_window
    return render(
        request,
        principal,
        "stepup.html",
        title="Confirm it is you",
        next=safe_next(target),
        window=window,
        **extra,
    )


@router.post("/step-up", **guarded(Permission.SIGNED_IN))
def step_up(
    request: Request, principal: SignedIn, code: Field, target: NextField = "/"
) -> Response:
    """Check the code; back to where the caller was going."""
    response = RedirectResponse(safe_next(target), status_code=303)
    try:
        perform_step_up(request, response, principal, code)
    except ServerError as exc:
        return _step_up_page(request, principal, target, status=exc.status, error=exc.message)
    return response
