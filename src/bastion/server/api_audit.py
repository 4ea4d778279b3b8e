"""The audit log: browse and filter (each page says whether the log verifies), inclusion
proofs to download, and the export (step-up: a fresh TOTP code)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from bastion.audit import AuditEntry, AuditVerificationReport
from bastion.server.audit_view import AuditFilter, audit_page, export_text, inclusion_proof
from bastion.server.auditing import ServerAction
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.params import EventSeq, Offset
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.recording import record
from bastion.server.routing import guarded
from bastion.server.schemas_resources import AuditEventOut, AuditPageOut, AuditStatusOut

__all__ = ["read_filter", "router", "status_out"]

router = APIRouter(prefix="/api")
AuditReader = Annotated[Principal, Depends(authorize(Permission.AUDIT_READ))]
AuditExporter = Annotated[Principal, Depends(authorize(Permission.AUDIT_EXPORT))]
Criterion = Annotated[str, Query(max_length=256)]


def read_filter(
    actor: str = "", action: str = "", outcome: str = "", subject: str = ""
) -> AuditFilter:
    """The filter of a request's query."""
    return AuditFilter(actor.strip(), action.strip(), outcome.strip(), subject.strip())


def status_out(report: AuditVerificationReport) -> AuditStatusOut:
    """Whether the log verifies, with every problem's reason code."""
    return AuditStatusOut(
        ok=report.ok,
        size=report.size,
        root=report.root.hex(),
        checkpoints=report.checkpoints,
        checkpoint_size=report.checkpoint_size,
        unsealed=report.unsealed,
        problems=[p.to_json() for p in report.problems],
    )


def _event_out(entry: AuditEntry) -> AuditEventOut:
    event = entry.event
    return AuditEventOut(
        seq=entry.seq,
        time=entry.time,
        actor=event.actor,
        action=event.action,
        subject=event.subject,
        outcome=event.outcome.value,
        details=dict(event.details),
        leaf_hash=entry.leaf_hash.hex(),
    )


@router.get("/audit", **guarded(Permission.AUDIT_READ))
def audit(
    request: Request,
    principal: AuditReader,
    actor: Criterion = "",
    action: Criterion = "",
    outcome: Criterion = "",
    subject: Criterion = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> AuditPageOut:
    """Events newest first, filtered, with the log's verification recomputed."""
    ctx = context_of(request)
    log = ctx.services.resources.need_audit_log()
    wanted = read_filter(actor, action, outcome, subject)
    page = audit_page(log, wanted, offset=offset, limit=limit, now=ctx.services.clock())
    return AuditPageOut(
        status=status_out(page.report),
        total=page.total,
        offset=offset,
        limit=limit,
        events=[_event_out(e) for e in page.entries],
    )


@router.get("/audit/{seq}/proof", **guarded(Permission.AUDIT_READ))
def proof(request: Request, seq: EventSeq, principal: AuditReader) -> Response:
    """The inclusion proof of event ``seq`` in the newest signed checkpoint (a download)."""
    log = context_of(request).services.resources.need_audit_log()
    body = inclusion_proof(log, seq)
    response = Response(_json(body), media_type="application/json")
    response.headers["content-disposition"] = f'attachment; filename="audit-{seq}-proof.json"'
    return response


@router.get("/audit-export", **guarded(Permission.AUDIT_EXPORT))
def export(request: Request, principal: AuditExporter) -> Response:
    """Every event and checkpoint as JSON lines (``bastion audit export``); audited."""
    log = context_of(request).services.resources.need_audit_log()
    text = export_text(log)
    record(request, principal.actor, ServerAction.AUDIT_EXPORTED, "audit/export")
    response = Response(text, media_type="application/x-ndjson")
    response.headers["content-disposition"] = 'attachment; filename="audit-export.jsonl"'
    return response


def _json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
