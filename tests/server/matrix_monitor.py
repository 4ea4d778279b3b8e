"""The monitoring routes' part of the permission matrix (issue 16): ``/metrics``, alerts
(list, acknowledge, resolve; API and pages) and the KPIs. Each acknowledge or resolve call
acts on an alert of its own, opened here, so every role that holds the permission succeeds."""

from __future__ import annotations

from collections.abc import Callable

from bastion.monitor import AlertStore, PlainText, Severity, Signal
from tests.server.matrix_model import ADMIN_SECURITY, ALL, Call, Caller, Entry

MONITOR_MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/metrics"): Entry("metrics.read", ALL),
    ("GET", "/api/kpi"): Entry("kpi.read", ALL),
    ("GET", "/api/alerts"): Entry("alerts.read", ADMIN_SECURITY),
    ("GET", "/api/alerts/{alert_id}"): Entry("alerts.read", ADMIN_SECURITY),
    ("POST", "/api/alerts/{alert_id}/ack"): Entry("alerts.handle", ADMIN_SECURITY),
    ("POST", "/api/alerts/{alert_id}/resolve"): Entry("alerts.handle", ADMIN_SECURITY),
    ("GET", "/alerts"): Entry("alerts.read", ADMIN_SECURITY),
    ("POST", "/alerts/{alert_id}/ack"): Entry("alerts.handle", ADMIN_SECURITY),
    ("POST", "/alerts/{alert_id}/resolve"): Entry("alerts.handle", ADMIN_SECURITY),
    ("GET", "/kpi"): Entry("kpi.read", ALL),
}
MONITOR_PLACEHOLDERS = {"alert_id": 1}


def open_alert(caller: Caller) -> int:
    """A new open alert (its own key, so it is not folded into another)."""
    signal = Signal(
        "failed-login-burst", Severity.HIGH, "matrix alert", "seeded", caller.unique("alert")
    )
    store = AlertStore(caller.server.db)
    with caller.server.db.session() as session:
        return store.open_signals(session, [signal], PlainText())[0]


MONITOR_CALLS: dict[tuple[str, str], Callable[[Caller], Call]] = {
    ("GET", "/metrics"): lambda c: Call("/metrics"),
    ("GET", "/api/kpi"): lambda c: Call("/api/kpi?since_days=30"),
    ("GET", "/api/alerts"): lambda c: Call("/api/alerts?state=open"),
    ("GET", "/api/alerts/{alert_id}"): lambda c: Call(f"/api/alerts/{open_alert(c)}"),
    ("POST", "/api/alerts/{alert_id}/ack"): lambda c: Call(
        f"/api/alerts/{open_alert(c)}/ack", json={"reason": "matrix"}
    ),
    ("POST", "/api/alerts/{alert_id}/resolve"): lambda c: Call(
        f"/api/alerts/{open_alert(c)}/resolve", json={}
    ),
    ("GET", "/alerts"): lambda c: Call("/alerts"),
    ("POST", "/alerts/{alert_id}/ack"): lambda c: Call(
        f"/alerts/{open_alert(c)}/ack", data={"reason": "matrix"}
    ),
    ("POST", "/alerts/{alert_id}/resolve"): lambda c: Call(
        f"/alerts/{open_alert(c)}/resolve", data={"reason": ""}
    ),
    ("GET", "/kpi"): lambda c: Call("/kpi"),
}
