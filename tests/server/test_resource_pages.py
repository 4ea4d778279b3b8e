"""The audit log (verification on every page, proofs that verify, export behind step-up),
secrets (values never in any response), keys, users, tokens and settings pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.audit import AuditEvent, AuditLog, Checkpoint, InclusionProof
from bastion.server import Grant, Role
from bastion.server.middleware import CSP
from tests.server.conftest import Server
from tests.server.resource_server import add_gate_run, make_resource_server

SECRET_VALUE = "zq7-Kestrel-umbra-4410-vantage"


@pytest.fixture
def made(tmp_path: Path) -> Iterator[tuple[Server, AuditLog]]:
    server, log = make_resource_server(tmp_path)
    try:
        yield server, log
    finally:
        server.client.close()
        server.db.dispose()


def _seed_log(log: AuditLog) -> None:
    for n in range(3):
        log.append(AuditEvent(f"user:u{n}", "run.started", f"run/{n}"))
    log.checkpoint()
    log.append(AuditEvent("user:late", "run.started", "run/9"))


def test_audit_page_shows_that_the_log_verifies_and_filters(made: tuple[Server, AuditLog]) -> None:
    server, log = made
    _seed_log(log)
    log.checkpoint()  # every event signed (the test clock is years after the events)
    server.add_user("ada", Role.ADMIN)
    server.login("ada")
    page = server.client.get("/audit")
    assert page.status_code == 200
    assert "The log verifies" in page.text
    assert "user:u1" in page.text
    api = server.client.get("/api/audit", params={"actor": "user:u1"}).json()
    assert api["status"]["ok"] is True
    assert [e["subject"] for e in api["events"]] == ["run/1"]


def test_audit_page_says_when_the_log_does_not_verify(made: tuple[Server, AuditLog]) -> None:
    server, log = made
    _seed_log(log)
    with server.db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_events SET body = replace(body, 'run/1', 'run/7')")
    server.add_user("ada", Role.ADMIN)
    server.login("ada")
    page = server.client.get("/audit")
    assert "The log does not verify" in page.text
    assert server.client.get("/api/audit").json()["status"]["ok"] is False


def test_inclusion_proof_downloads_and_verifies(made: tuple[Server, AuditLog]) -> None:
    server, log = made
    _seed_log(log)
    server.add_user("sec", Role.SECURITY)
    server.login("sec")
    response = server.client.get("/api/audit/1/proof")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    doc = response.json()
    checkpoint = Checkpoint.open(doc["checkpoint"], log.verifiers)
    proof = InclusionProof(
        doc["seq"], doc["body"], tuple(bytes.fromhex(p) for p in doc["path"]), checkpoint
    )
    proof.verify(log.verifiers)  # raises if it does not
    assert "run/1" in doc["body"]
    assert server.client.get("/api/audit/3/proof").status_code == 404  # not yet signed


def test_export_needs_step_up_and_is_audited(made: tuple[Server, AuditLog]) -> None:
    server, log = made
    _seed_log(log)
    server.add_user("ada", Role.ADMIN)
    server.login("ada")
    refused = server.client.get("/api/audit-export")
    assert refused.status_code == 403
    assert server.audit.events[-1].action == "request.denied"
    totp = server.enrol_totp()
    form = server.client.get("/step-up", params={"next": "/api/audit-export"})
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    stepped = server.client.post(
        "/step-up",
        data={"code": totp.at(server.clock.now), "next": "/api/audit-export", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert stepped.status_code == 303
    assert stepped.headers["location"] == "/api/audit-export"
    export = server.client.get("/api/audit-export")
    assert export.status_code == 200
    assert export.text.count("\n") >= 5
    assert server.audit.actions()[-1] == "audit.exported"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER, Role.MAINTAINER])
def test_audit_log_is_for_security_and_admins(made: tuple[Server, AuditLog], role: Role) -> None:
    server, _log = made
    server.add_user("pat", role)
    server.login("pat")
    assert server.client.get("/api/audit").status_code == 403
    assert server.client.get("/audit").status_code == 403
    assert server.audit.events[-1].outcome.value == "denied"


def test_secret_values_never_leave_the_server(made: tuple[Server, AuditLog]) -> None:
    server, _log = made
    server.add_user("mia", Role.MAINTAINER)
    server.login("mia")
    body = {"value": SECRET_VALUE, "repos": ["acme/*"], "trust": ["trusted"]}
    put = server.client.put(
        "/api/secrets/DEPLOY_TOKEN", json=body, headers={"X-CSRF-Token": server.csrf()}
    )
    assert put.status_code == 200, put.text
    form = server.client.post(
        "/secrets",
        data={"name": "OTHER_TOKEN", "value": SECRET_VALUE, "csrf_token": server.csrf()},
        follow_redirects=False,
    )
    assert form.status_code == 303
    responses = [
        put,
        form,
        server.client.get("/api/secrets"),
        server.client.get("/secrets"),
        server.client.get("/api/audit"),
    ]
    listed = responses[2].json()
    assert [(s["name"], s["repos"], s["trust"]) for s in listed] == [
        ("DEPLOY_TOKEN", ["acme/*"], ["trusted"]),
        ("OTHER_TOKEN", [], ["release", "trusted"]),
    ]
    for response in responses:
        assert SECRET_VALUE not in response.text
    events = [e for e in server.audit.events if e.action == "secret.set"]
    assert [e.subject for e in events] == ["secret/DEPLOY_TOKEN", "secret/OTHER_TOKEN"]
    assert all(SECRET_VALUE not in str(e.details) for e in server.audit.events)


def test_a_refused_secret_value_is_not_echoed(made: tuple[Server, AuditLog]) -> None:
    server, _log = made
    server.add_user("mia", Role.MAINTAINER)
    server.login("mia")
    weak = "aaaaaaaaaaaaaaaa"
    response = server.client.put(
        "/api/secrets/WEAK", json={"value": weak}, headers={"X-CSRF-Token": server.csrf()}
    )
    assert response.status_code == 400
    assert weak not in response.text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER])
def test_secrets_are_refused_to_viewers_and_developers(
    made: tuple[Server, AuditLog], role: Role
) -> None:
    server, _log = made
    server.add_user("pat", role)
    server.login("pat")
    assert server.client.get("/api/secrets").status_code == 403
    put = server.client.put(
        "/api/secrets/X_TOKEN",
        json={"value": SECRET_VALUE},
        headers={"X-CSRF-Token": server.csrf()},
    )
    assert put.status_code == 403
    assert server.audit.events[-1].action == "request.denied"


@pytest.mark.parametrize(
    "path",
    ["/findings", "/artifacts", "/audit", "/secrets", "/keys", "/users", "/tokens", "/settings"],
)
def test_pages_render_without_script_or_inline_style(
    made: tuple[Server, AuditLog], path: str
) -> None:
    server, _log = made
    add_gate_run(server.db)
    server.add_user("ada", Role.ADMIN)
    server.accounts.grant("ada", _security())
    server.login("ada")
    page = server.client.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["x-frame-options"] == "DENY"
    lowered = page.text.lower()
    assert "<script" not in lowered
    assert " style=" not in lowered
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert 'href="/settings"' in page.text  # the admin's navigation


def test_settings_hide_the_database_password(tmp_path: Path) -> None:
    from bastion.server import ServerSettings
    from bastion.server.api_secrets import settings_values

    settings = ServerSettings("127.0.0.1", 8080, "postgresql://bastion:hunter2-Secret@db/bastion")
    assert "hunter2-Secret" not in str(settings_values(settings))


def _security() -> Grant:
    return Grant(Role.SECURITY)
