"""Findings and their triage: list each repository's newest findings; the security role
accepts one (a suppression owned by the caller, with reason and expiry) or revokes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from bastion.server.auditing import ServerAction
from bastion.server.auth import authorize, require_on
from bastion.server.context import context_of
from bastion.server.findings import FindingView, latest_findings
from bastion.server.params import RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.recording import record
from bastion.server.routing import guarded
from bastion.server.schemas_resources import AcceptedOut, FindingOut, TriageBody
from bastion.server.triage import Accepted, ServerSuppressions

__all__ = [
    "accept_finding",
    "accepted_out",
    "revoke_acceptance",
    "router",
    "triage_store",
    "visible_findings",
]

router = APIRouter(prefix="/api")
FindingsReader = Annotated[Principal, Depends(authorize(Permission.FINDINGS_READ))]
Triager = Annotated[Principal, Depends(authorize(Permission.FINDINGS_TRIAGE))]
Repository = Annotated[str | None, Query(min_length=1, max_length=1024)]


def triage_store(request: Request) -> ServerSuppressions:
    """The server's accepted findings over the app's database and clock."""
    services = context_of(request).services
    return ServerSuppressions(services.db, services.clock)


def accepted_out(item: Accepted, store: ServerSuppressions) -> AcceptedOut:
    """The response form of an accepted finding."""
    entry = item.suppression
    return AcceptedOut(
        id=item.id,
        repository=item.repository,
        fingerprint=entry.fingerprint,
        owner=entry.owner,
        reason=entry.reason,
        expires=entry.expires,
        created_at=item.created_at,
        revoked_at=item.revoked_at,
        revoked_by=item.revoked_by,
        active=item.active_on(store.today()),
    )


def visible_findings(
    request: Request, principal: Principal, repository: str | None
) -> list[FindingView]:
    """The newest findings of ``repository`` (checked: 404 if hidden) or of every
    repository the caller may read."""
    visible = principal.visible(Permission.FINDINGS_READ)
    if repository is not None:
        require_on(request, principal, Permission.FINDINGS_READ, repository)
        visible = {repository}
    store = triage_store(request)
    accepted = [a for a in store.list(repository) if visible is None or a.repository in visible]
    db = context_of(request).services.db
    return latest_findings(db, visible, accepted, store.today())


@router.get("/findings", **guarded(Permission.FINDINGS_READ))
def findings(
    request: Request,
    principal: FindingsReader,
    repository: Repository = None,
    open_only: bool = False,
) -> list[FindingOut]:
    """Findings of each visible repository's newest judged run, with their triage."""
    store = triage_store(request)
    out = []
    for view in visible_findings(request, principal, repository):
        if open_only and not view.open:
            continue
        accepted = accepted_out(view.accepted, store) if view.accepted else None
        fields = {k: v for k, v in view.__dict__.items() if k != "accepted"}
        out.append(FindingOut(**fields, accepted=accepted, open=view.open))
    return out


@router.get("/suppressions", **guarded(Permission.FINDINGS_READ))
def suppressions(
    request: Request, principal: FindingsReader, repository: Repository = None
) -> list[AcceptedOut]:
    """Findings accepted on the server (revoked and expired ones included), newest first."""
    if repository is not None:
        require_on(request, principal, Permission.FINDINGS_READ, repository)
    visible = principal.visible(Permission.FINDINGS_READ)
    store = triage_store(request)
    return [
        accepted_out(a, store)
        for a in store.list(repository)
        if visible is None or a.repository in visible
    ]


def accept_finding(request: Request, principal: Principal, body: TriageBody) -> Accepted:
    """Accept a finding as the caller (checked on the repository) and audit it."""
    require_on(request, principal, Permission.FINDINGS_TRIAGE, body.repository)
    item = triage_store(request).accept(
        body.repository, body.fingerprint, principal.name, body.reason, body.expires
    )
    record(
        request,
        principal.actor,
        ServerAction.FINDING_SUPPRESSED,
        f"repository/{body.repository}/finding/{body.fingerprint}",
        suppression=item.id,
        expires=body.expires.isoformat(),
        reason=item.suppression.reason,
    )
    return item


def revoke_acceptance(request: Request, principal: Principal, suppression_id: int) -> Accepted:
    """Revoke an accepted finding (checked on its repository: 404 alike if hidden)."""
    store = triage_store(request)
    item = store.get(suppression_id)
    require_on(request, principal, Permission.FINDINGS_TRIAGE, item.repository)
    revoked = store.revoke(item.repository, suppression_id, principal.name)
    record(
        request,
        principal.actor,
        ServerAction.SUPPRESSION_REVOKED,
        f"repository/{item.repository}/finding/{item.suppression.fingerprint}",
        suppression=suppression_id,
    )
    return revoked


@router.post("/suppressions", status_code=201, **guarded(Permission.FINDINGS_TRIAGE))
def accept(request: Request, body: TriageBody, principal: Triager) -> AcceptedOut:
    """Accept one finding of a repository until ``expires`` (at most 90 days ahead)."""
    return accepted_out(accept_finding(request, principal, body), triage_store(request))


@router.delete("/suppressions/{suppression_id}", **guarded(Permission.FINDINGS_TRIAGE))
def revoke(request: Request, suppression_id: RowId, principal: Triager) -> AcceptedOut:
    """End an accepted finding now."""
    item = revoke_acceptance(request, principal, suppression_id)
    return accepted_out(item, triage_store(request))
