"""``/metrics``, alerts and KPIs over HTTP (issue 16): the scrape parsed by prometheus-client's
own parser, a token scoped to ``metrics.read`` alone, alert filters, acknowledgement with a
reason and resolution (audited), the KPI document and page with its server-drawn charts."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bastion.server import Permission, Role
from bastion.server.principal import TokenScope
from tests.server.conftest import Server
from tests.server.monitor_seed import seed_alerts, seed_evidence, seed_history


def _admin(server: Server) -> dict[str, str]:
    server.add_user("root", Role.ADMIN)
    server.login("root")
    return {"X-CSRF-Token": server.csrf()}


def _token(server: Server, name: str, role: Role, *permissions: Permission) -> str:
    server.add_user(name, role)
    user = server.accounts.by_name(name)
    scope = TokenScope(frozenset({"*"}), frozenset(permissions))
    ctx = server.client.app.state.bastion  # type: ignore[attr-defined]
    _info, value = ctx.tokens.create(user.id, "scrape", scope, 30)
    return str(value)


def test_metrics_scrape_parses_with_prometheus_clients_own_parser(server: Server) -> None:
    seed_history(server.db, server.clock.now)
    seed_alerts(server.db)
    token = _token(server, "prometheus", Role.VIEWER, Permission.METRICS_READ)
    response = server.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    runs = {s.labels["status"]: s.value for s in families["bastion_runs"].samples}
    assert sum(runs.values()) == 84
    assert runs["blocked"] > 0
    assert runs["failed"] > 0
    gates = {
        (s.labels["gate"], s.labels["outcome"]) for s in families["bastion_gate_results"].samples
    }
    assert ("sca", "blocked") in gates
    assert families["bastion_run_duration_seconds"].type == "histogram"
    count = [
        s for s in families["bastion_run_duration_seconds"].samples if s.name.endswith("_count")
    ]
    assert count[0].value == 84
    alerts = families["bastion_alerts"].samples
    assert {s.labels["severity"] for s in alerts} == {"critical", "high", "medium"}
    assert families["bastion_queue_depth"].samples[0].value == 0
    assert "bastion_egress_denials" in families


def test_a_metrics_token_reads_metrics_and_nothing_else(server: Server) -> None:
    token = _token(server, "prometheus", Role.VIEWER, Permission.METRICS_READ)
    bearer = {"Authorization": f"Bearer {token}"}
    assert server.client.get("/metrics", headers=bearer).status_code == 200
    assert server.client.get("/api/runs", headers=bearer).status_code == 404  # hidden
    assert server.client.get("/api/kpi", headers=bearer).status_code == 403


def test_metrics_without_a_credential_is_401_not_a_redirect(server: Server) -> None:
    response = server.client.get("/metrics", follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


def test_alerts_filter_by_state_and_severity(server: Server) -> None:
    first, _high, _medium = seed_alerts(server.db)
    headers = _admin(server)
    listed = server.client.get("/api/alerts").json()["alerts"]
    assert [a["severity"] for a in listed] == ["medium", "high", "critical"]
    critical = server.client.get("/api/alerts?severity=critical").json()["alerts"]
    assert [a["id"] for a in critical] == [first]
    server.client.post(f"/api/alerts/{first}/ack", json={"reason": "planned"}, headers=headers)
    acked = server.client.get("/api/alerts?state=acknowledged").json()["alerts"]
    assert [(a["id"], a["handled_by"], a["reason"]) for a in acked] == [
        (first, "user:root", "planned")
    ]
    assert len(server.client.get("/api/alerts?state=open").json()["alerts"]) == 2
    assert server.client.get("/api/alerts?state=bogus").status_code == 422


def test_ack_needs_a_reason_and_each_change_is_audited(server: Server) -> None:
    first, second, _ = seed_alerts(server.db)
    headers = _admin(server)
    missing = server.client.post(f"/api/alerts/{first}/ack", json={"reason": ""}, headers=headers)
    assert missing.status_code == 422
    ok = server.client.post(f"/api/alerts/{first}/ack", json={"reason": "PR #12"}, headers=headers)
    assert ok.status_code == 200
    assert ok.json()["state"] == "acknowledged"
    done = server.client.post(f"/api/alerts/{second}/resolve", json={}, headers=headers)
    assert done.json()["state"] == "resolved"
    again = server.client.post(f"/api/alerts/{second}/resolve", json={}, headers=headers)
    assert again.status_code == 409
    assert server.client.get("/api/alerts/999").status_code == 404
    events = [(e.action, e.subject) for e in server.audit.events if e.action.startswith("alert.")]
    assert events == [
        ("alert.acknowledged", f"alert/{first}"),
        ("alert.resolved", f"alert/{second}"),
    ]


def test_the_alerts_page_acknowledges_and_resolves_through_forms(server: Server) -> None:
    first, second, _ = seed_alerts(server.db)
    _admin(server)
    page = server.client.get("/alerts")
    assert "Pipeline of shop changed" in page.text
    assert f"/alerts/{first}/ack" in page.text
    csrf = server.csrf()
    refused = server.client.post(f"/alerts/{first}/ack", data={"reason": " ", "csrf_token": csrf})
    assert refused.status_code == 400
    assert "reason is required" in refused.text
    acked = server.client.post(
        f"/alerts/{first}/ack", data={"reason": "on it", "csrf_token": csrf}, follow_redirects=False
    )
    assert acked.status_code == 303
    server.client.post(f"/alerts/{second}/resolve", data={"reason": "", "csrf_token": csrf})
    shown = server.client.get("/alerts?state=acknowledged").text
    assert "Pipeline of shop changed" in shown
    assert "user:root: on it" in shown
    assert "7 failed sign-ins" in server.client.get("/alerts?state=resolved").text


def test_kpi_api_gives_the_cli_document(server: Server) -> None:
    _admin(server)
    assert server.client.get("/api/kpi").json()["no_data"] is True
    seed_history(server.db, server.clock.now)
    body = server.client.get("/api/kpi?since_days=30").json()
    assert body["runs"] == 84
    assert body["gate_adoption"]["percent"]["sca"] > 0
    assert body["mttr_hours"]["critical"] > 0
    assert body["open_findings"] == {"high": 1}
    narrowed = server.client.get("/api/kpi?since_days=30&repo=docs").json()
    assert narrowed["runs"] == 28
    assert narrowed["gate_adoption"]["percent"] == {}
    assert server.client.get("/api/kpi?since_days=0").status_code == 422


def test_kpi_api_reads_approvals_deploys_artifacts_and_leaks(server: Server) -> None:
    _admin(server)
    seed_history(server.db, server.clock.now)
    seed_evidence(server.db, server.clock.now)
    body = server.client.get("/api/kpi?since_days=30").json()
    assert body["approval_latency"] == {
        "production": {"requests": 6, "decided": 6, "median_minutes": 35.0, "p90_minutes": 60.0},
        "staging": {"requests": 6, "decided": 6, "median_minutes": 30.0, "p90_minutes": 55.0},
    }
    readiness = body["audit_readiness"]
    assert (readiness["deploys"], readiness["ready"]) == (10, 0)  # no checkpoint seals them
    assert readiness["evidence_percent"] == {"sbom": 100.0, "provenance": 100.0,
                                             "signature": 70.0, "approval": 100.0,
                                             "verified_log": 0.0}  # fmt: skip
    assert body["sbom_completeness"]["artifacts"] == 28
    assert body["sbom_completeness"]["with_sbom_percent"] == 100.0
    assert sum(body["secret_leaks_by_month"].values()) == 4
    assert body["security_coverage"]["percent"]["sast"] == 33.3


# Of 10 charts: approvals, readiness, SBOMs and leaks have no data; no fix in the last 7 days.
@pytest.mark.parametrize(("since", "drawn"), [(None, 6), (7, 5)])
def test_kpi_page_draws_its_charts_as_svg_without_script(
    server: Server, since: int | None, drawn: int
) -> None:
    seed_history(server.db, server.clock.now)
    _admin(server)
    page = server.client.get("/kpi" + (f"?since_days={since}" if since else "")).text
    assert page.count('<svg class="kpi-chart"') == drawn
    assert page.count("No data.") == 10 - drawn
    assert "<script" not in page
    assert len(re.findall(r'<rect class="chart-bar', page)) >= 10
    assert "Gate adoption" in page
    assert "payments" in page
