"""The worker registry over HTTP (issue 15): what it lists, and revoking a worker through
the API with the same effect and audit event as ``bastion workers revoke``."""

from __future__ import annotations

from bastion.executors.celery import Claim, Grant, LeaseState, LeaseStore
from bastion.server import Permission, Role
from bastion.server.principal import TokenScope
from tests.server.conftest import Server


def _bearer(server: Server, name: str, role: Role, *permissions: Permission) -> dict[str, str]:
    server.add_user(name, role)
    user = server.accounts.by_name(name)
    ctx = server.client.app.state.bastion  # type: ignore[attr-defined]
    scope = TokenScope(frozenset({"*"}), frozenset(permissions))
    _info, value = ctx.tokens.create(user.id, "ops", scope, 30)
    return {"Authorization": f"Bearer {value}"}


def _seen(server: Server) -> LeaseStore:
    """Two trusted workers (one running run 4's build, one idle) and a release worker."""
    leases = LeaseStore(server.db)
    now = server.clock.now.timestamp()
    leases.grant(Claim("4.b.1", 4, "build", 1, "trusted", "trusted@h1.1"), now=now)
    leases.grant(Claim("3.t.1", 3, "test", 1, "trusted", "trusted@h2.2"), now=now - 60)
    leases.end("3.t.1", LeaseState.FINISHED, now=now - 30)
    leases.grant(Claim("2.d.1", 2, "deploy", 1, "release", "release@h3.3"), now=now - 120)
    return leases


def test_the_registry_lists_pools_workers_heartbeats_and_current_jobs(server: Server) -> None:
    _seen(server)
    bearer = _bearer(server, "sec", Role.SECURITY, Permission.WORKERS_READ)
    body = server.client.get("/api/workers", headers=bearer).json()
    rows = {w["name"]: w for w in body["workers"]}
    assert [w["name"] for w in body["workers"]] == ["release@h3.3", "trusted@h1.1", "trusted@h2.2"]
    assert rows["trusted@h1.1"]["current"] == ["run 4 job build"]
    assert rows["trusted@h2.2"]["current"] == []
    assert rows["release@h3.3"]["pool"] == "release"
    assert rows["trusted@h1.1"]["state"] == "active"
    assert rows["trusted@h1.1"]["last_heartbeat"].startswith("2030-01-01T12:00:00")


def test_the_registry_page_shows_each_worker(server: Server) -> None:
    _seen(server)
    server.add_user("root", Role.ADMIN)
    server.login("root")
    server.enrol_totp()
    page = server.client.get("/workers")
    assert page.status_code == 200
    assert "trusted@h1.1" in page.text
    assert "run 4 job build" in page.text
    assert "2030-01-01 12:00:00" in page.text


def test_revoking_through_the_api_refuses_the_workers_next_heartbeat_audited(
    server: Server,
) -> None:
    leases = _seen(server)
    bearer = _bearer(server, "sec", Role.SECURITY, Permission.WORKERS_MANAGE)
    response = server.client.post("/api/workers/trusted@h1.1/revoke", headers=bearer)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "revoked"
    # What a revoked worker meets next: its heartbeat refused, nothing granted.
    now = server.clock.now.timestamp() + 2
    assert leases.heartbeat("4.b.1", "trusted@h1.1", now=now) is False
    claim = Claim("5.b.1", 5, "build", 1, "trusted", "trusted@h1.1")
    assert leases.grant(claim, now=now) is Grant.REVOKED
    event = server.audit.events[-1]
    assert (event.action, event.subject) == ("worker.revoked", "worker/trusted@h1.1")
    assert event.actor.startswith("user:sec")


def test_draining_and_unknown_workers(server: Server) -> None:
    _seen(server)
    bearer = _bearer(server, "sec", Role.SECURITY, Permission.WORKERS_MANAGE)
    drained = server.client.post("/api/workers/trusted@h2.2/drain", headers=bearer)
    assert drained.json()["state"] == "draining"
    assert server.audit.events[-1].action == "worker.drained"
    before = len(server.audit.events)
    unknown = server.client.post("/api/workers/trusted@nowhere.9/revoke", headers=bearer)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert len(server.audit.events) == before  # nothing changed, nothing recorded


def test_a_maintainer_may_neither_see_nor_revoke_workers(server: Server) -> None:
    _seen(server)
    bearer = _bearer(server, "maint", Role.MAINTAINER, Permission.WORKERS_MANAGE)
    assert server.client.get("/api/workers", headers=bearer).status_code == 403
    response = server.client.post("/api/workers/trusted@h1.1/revoke", headers=bearer)
    assert response.status_code == 403
    assert LeaseStore(server.db).workers()[1].state.value == "active"
