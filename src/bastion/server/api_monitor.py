"""Monitoring over HTTP: ``/metrics`` for Prometheus, alerts (list, acknowledge, resolve;
each change audited) and the KPIs as JSON.

``/metrics`` needs ``metrics.read``: any role granted on the instance, so a scraper runs
with an API token of a viewer account scoped to ``metrics.read`` alone (``Authorization:
Bearer``; Prometheus' ``authorization`` setting). It answers 401 problem+json, never a
redirect to the sign-in page, when no credential came.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from bastion.errors import BastionError
from bastion.monitor import (
    CONTENT_TYPE,
    Alert,
    AlertNotFoundError,
    AlertState,
    AlertStore,
    KpiReport,
    Severity,
    compute_kpis,
    render_metrics,
)
from bastion.server.auditing import ServerAction
from bastion.server.auth import authorize
from bastion.server.context import context_of
from bastion.server.errors import ConflictError, NotFoundError
from bastion.server.params import RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.recording import record
from bastion.server.resources import translate
from bastion.server.routing import guarded
from bastion.server.schemas_monitor import AckBody, AlertOut, AlertsOut, ResolveBody, alert_out

__all__ = ["acknowledge", "kpi_report", "list_alerts", "resolve", "router"]

router = APIRouter()
MetricsReader = Annotated[Principal, Depends(authorize(Permission.METRICS_READ))]
KpiReader = Annotated[Principal, Depends(authorize(Permission.KPI_READ))]
AlertReader = Annotated[Principal, Depends(authorize(Permission.ALERTS_READ))]
AlertHandler = Annotated[Principal, Depends(authorize(Permission.ALERTS_HANDLE))]
SinceDays = Annotated[int | None, Query(ge=1, le=3650)]
RepoFilter = Annotated[str | None, Query(min_length=1, max_length=1024)]


@router.get("/metrics", **guarded(Permission.METRICS_READ))
def metrics(request: Request, principal: MetricsReader) -> Response:
    """Prometheus text: runs, jobs, gate results, durations, queue, egress denials, alerts."""
    body = render_metrics(context_of(request).services.db)
    return Response(body, media_type=CONTENT_TYPE)


def list_alerts(
    request: Request, state: AlertState | None, severity: Severity | None, limit: int = 100
) -> list[Alert]:
    """Alerts newest first, filtered."""
    store = AlertStore(context_of(request).services.db)
    return store.list(state=state, severity=severity, limit=limit)


def _change(
    request: Request, principal: Principal, alert_id: int, reason: str | None, *, ack: bool
) -> Alert:
    store = AlertStore(context_of(request).services.db)
    try:
        if ack:
            alert = store.acknowledge(alert_id, by=principal.actor, reason=reason or "")
        else:
            alert = store.resolve(alert_id, by=principal.actor, reason=reason)
    except AlertNotFoundError as exc:
        raise NotFoundError(exc.message) from exc
    except BastionError as exc:  # already resolved; the store is unavailable
        raise translate(exc, ConflictError) from exc
    action = ServerAction.ALERT_ACKNOWLEDGED if ack else ServerAction.ALERT_RESOLVED
    record(request, principal.actor, action, f"alert/{alert_id}", rule=alert.rule)
    return alert


def acknowledge(request: Request, principal: Principal, alert_id: int, reason: str) -> Alert:
    """Acknowledge an open alert with a reason; audited."""
    return _change(request, principal, alert_id, reason, ack=True)


def resolve(request: Request, principal: Principal, alert_id: int, reason: str | None) -> Alert:
    """Resolve an alert; audited."""
    return _change(request, principal, alert_id, reason, ack=False)


@router.get("/api/alerts", **guarded(Permission.ALERTS_READ))
def alerts(
    request: Request,
    principal: AlertReader,
    state: AlertState | None = None,
    severity: Severity | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertsOut:
    """Alerts newest first, filtered by state and severity."""
    found = list_alerts(request, state, severity, limit)
    return AlertsOut(alerts=[alert_out(a) for a in found])


@router.get("/api/alerts/{alert_id}", **guarded(Permission.ALERTS_READ))
def alert(request: Request, alert_id: RowId, principal: AlertReader) -> AlertOut:
    """One alert."""
    try:
        return alert_out(AlertStore(context_of(request).services.db).get(alert_id))
    except AlertNotFoundError as exc:
        raise NotFoundError(exc.message) from exc


@router.post("/api/alerts/{alert_id}/ack", **guarded(Permission.ALERTS_HANDLE))
def ack(request: Request, alert_id: RowId, body: AckBody, principal: AlertHandler) -> AlertOut:
    """Acknowledge an alert (the reason is required); 409 if it is resolved already."""
    return alert_out(acknowledge(request, principal, alert_id, body.reason))


@router.post("/api/alerts/{alert_id}/resolve", **guarded(Permission.ALERTS_HANDLE))
def resolve_route(
    request: Request, alert_id: RowId, body: ResolveBody, principal: AlertHandler
) -> AlertOut:
    """Resolve an alert (a later occurrence opens a new one); 409 if resolved already."""
    return alert_out(resolve(request, principal, alert_id, body.reason))


def kpi_report(request: Request, since_days: int | None, repo: str | None) -> KpiReport:
    """The KPIs over finished runs of the last ``since_days`` days (all if None)."""
    ctx = context_of(request)
    since = ctx.services.clock() - timedelta(days=since_days) if since_days else None
    store = ctx.services.resources.artifacts  # SBOMs not summarised yet are read once
    return compute_kpis(ctx.services.db, since=since, repo=repo, store=store)


@router.get("/api/kpi", **guarded(Permission.KPI_READ))
def kpi(
    request: Request, principal: KpiReader, since_days: SinceDays = None, repo: RepoFilter = None
) -> dict[str, object]:
    """Security KPIs (``bastion kpi --json``'s document)."""
    return kpi_report(request, since_days, repo).to_dict()
