"""Web pages of the monitor: alerts (filter, acknowledge with a reason, resolve) and the
security KPIs with their charts drawn on the server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bastion.monitor import AlertState, Severity
from bastion.server import api_monitor
from bastion.server.auth import authorize
from bastion.server.errors import ServerError
from bastion.server.kpi_charts import kpi_charts
from bastion.server.page_render import render
from bastion.server.params import RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Principal
from bastion.server.routing import guarded

__all__ = ["router"]

router = APIRouter()
AlertReader = Annotated[Principal, Depends(authorize(Permission.ALERTS_READ))]
AlertHandler = Annotated[Principal, Depends(authorize(Permission.ALERTS_HANDLE))]
KpiReader = Annotated[Principal, Depends(authorize(Permission.KPI_READ))]
Reason = Annotated[str, Form(max_length=1000)]
_PERIODS = (7, 30, 90, 365)


def _alerts_page(
    request: Request,
    principal: Principal,
    state: AlertState | None = AlertState.OPEN,
    severity: Severity | None = None,
    **extra: Any,
) -> HTMLResponse:
    found = api_monitor.list_alerts(request, state, severity, 200)
    return render(
        request,
        principal,
        "alerts.html",
        title="Alerts",
        active="/alerts",
        alerts=found,
        state=state.value if state else "",
        severity=severity.value if severity else "",
        states=[s.value for s in AlertState],
        severities=[s.value for s in Severity],
        may_handle=principal.may(Permission.ALERTS_HANDLE),
        **extra,
    )


@router.get("/alerts", **guarded(Permission.ALERTS_READ))
def alerts(
    request: Request,
    principal: AlertReader,
    state: Annotated[AlertState | None, Query()] = AlertState.OPEN,
    severity: Annotated[Severity | None, Query()] = None,
) -> HTMLResponse:
    """Alerts newest first (open ones unless another state is asked for)."""
    return _alerts_page(request, principal, state, severity)


@router.post("/alerts/{alert_id}/ack", **guarded(Permission.ALERTS_HANDLE))
def ack(
    request: Request, alert_id: RowId, principal: AlertHandler, reason: Reason = ""
) -> Response:
    """Acknowledge from the form; the reason is required."""
    if not reason.strip():
        return _alerts_page(request, principal, status=400, error="say why: a reason is required")
    try:
        api_monitor.acknowledge(request, principal, alert_id, reason)
    except ServerError as exc:
        return _alerts_page(request, principal, status=exc.status, error=exc.message)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{alert_id}/resolve", **guarded(Permission.ALERTS_HANDLE))
def resolve(
    request: Request, alert_id: RowId, principal: AlertHandler, reason: Reason = ""
) -> Response:
    """Resolve from the form."""
    try:
        api_monitor.resolve(request, principal, alert_id, reason.strip() or None)
    except ServerError as exc:
        return _alerts_page(request, principal, status=exc.status, error=exc.message)
    return RedirectResponse("/alerts", status_code=303)


@router.get("/kpi", **guarded(Permission.KPI_READ))
def kpi(
    request: Request,
    principal: KpiReader,
    since_days: api_monitor.SinceDays = 30,
    repo: api_monitor.RepoFilter = None,
) -> HTMLResponse:
    """The KPIs of the last ``since_days`` days, as numbers and charts."""
    report = api_monitor.kpi_report(request, since_days, repo)
    return render(
        request,
        principal,
        "kpi.html",
        title="Security KPIs",
        active="/kpi",
        report=report,
        charts=kpi_charts(report),
        since_days=since_days,
        periods=_PERIODS,
        repo=repo or "",
    )
