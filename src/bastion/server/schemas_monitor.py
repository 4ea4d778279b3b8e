"""Request and response bodies of the monitoring routes (alerts, KPIs), apart from the
monitor's own types. Alert texts were masked when the alert was stored."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from bastion.monitor import Alert

__all__ = ["AckBody", "AlertOut", "AlertsOut", "ResolveBody", "alert_out"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckBody(_Body):
    """Acknowledge an alert: why it is expected, or who handles it."""

    reason: str = Field(min_length=1, max_length=1000)


class ResolveBody(_Body):
    """Resolve an alert, optionally saying how."""

    reason: str | None = Field(default=None, max_length=1000)


class AlertOut(BaseModel):
    """One alert."""

    id: int
    rule: str
    severity: str
    state: str
    title: str
    detail: str
    repo: str | None
    occurrences: int
    created_at: dt.datetime
    updated_at: dt.datetime
    handled_by: str | None
    reason: str | None


class AlertsOut(BaseModel):
    """Alerts newest first."""

    alerts: list[AlertOut]


def alert_out(alert: Alert) -> AlertOut:
    """The response body of one alert."""
    return AlertOut(
        id=alert.id,
        rule=alert.rule,
        severity=alert.severity.value,
        state=alert.state.value,
        title=alert.title,
        detail=alert.detail,
        repo=alert.repo,
        occurrences=alert.occurrences,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        handled_by=alert.handled_by,
        reason=alert.reason,
    )
