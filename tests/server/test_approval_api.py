"""Issue 14 over HTTP: approve and reject with a TOTP code in the body; the triggerer and a
commit author are refused with the reason (403), a decided request is a 409, environments
are the admins'."""

from __future__ import annotations

import pyotp

from bastion.engine import ApprovalRequest
from bastion.server import Role
from bastion.server.approvals import Approvals
from bastion.server.context import ServerContext
from bastion.server.environments import EnvironmentSettings
from bastion.trust import RunContext, Trust
from tests.server.conftest import Server


def _open(server: Server, repo: str = "app") -> int:
    ctx: ServerContext = server.client.app.state.bastion  # type: ignore[attr-defined]
    approvals = Approvals(server.db, server.clock, ctx.totp, server.audit)
    settings = EnvironmentSettings("production", required_approvals=2)
    approvals.environments.put(settings)
    context = RunContext(repo, "1" * 40, "refs/heads/main", "push", Trust.TRUSTED)
    request = ApprovalRequest(3, "deploy", "production", context)
    return approvals.open(request, settings, "alice", {"people": ["mallory"], "artifacts": []})


def _as(server: Server, name: str, role: Role) -> pyotp.TOTP:
    server.add_user(name, role)
    server.login(name)
    return server.enrol_totp()


def _vote(server: Server, totp: pyotp.TOTP, rid: int, decision: str = "approve") -> tuple[int, str]:
    server.clock.advance(seconds=30)
    response = server.client.post(
        f"/api/approvals/{rid}/{decision}",
        json={"code": totp.at(server.clock.now), "comment": "ok"},
        headers={"X-CSRF-Token": server.csrf()},
    )
    body = response.json()
    return response.status_code, str(body.get("detail") or body.get("state"))


def test_the_triggerer_and_a_commit_author_get_403_with_the_reason(server: Server) -> None:
    rid = _open(server)
    assert _vote(server, _as(server, "alice", Role.MAINTAINER), rid) == (
        403,
        "four-eyes: you triggered this run; someone else must approve it",
    )
    status, detail = _vote(server, _as(server, "mallory", Role.ADMIN), rid)
    assert (status, "wrote or committed" in detail) == (403, True)
    assert server.client.get(f"/api/approvals/{rid}").json()["state"] == "pending"


def test_two_approvals_decide_and_a_decided_request_is_409(server: Server) -> None:
    rid = _open(server)
    assert _vote(server, _as(server, "bob", Role.SECURITY), rid) == (200, "pending")
    status, _ = _vote(server, pyotp.TOTP("A" * 32), rid)
    assert status == 403  # a wrong code
    assert _vote(server, _as(server, "carol", Role.ADMIN), rid) == (200, "approved")
    assert _vote(server, _as(server, "dave", Role.MAINTAINER), rid, "reject")[0] == 409
    shown = server.client.get(f"/api/approvals/{rid}").json()
    assert [v["user"] for v in shown["votes"]] == ["bob", "carol"]
    assert server.client.get("/api/approvals").json() == {"approvals": []}


def test_a_viewer_sees_but_may_not_decide_and_environments_are_admin_only(
    server: Server,
) -> None:
    rid = _open(server)
    totp = _as(server, "vic", Role.VIEWER)
    assert [a["id"] for a in server.client.get("/api/approvals").json()["approvals"]] == [rid]
    assert _vote(server, totp, rid)[0] == 403
    assert server.client.get("/api/environments").status_code == 403
    _as(server, "root", Role.ADMIN)
    headers = {"X-CSRF-Token": server.csrf()}
    for body in ({"required_approvals": 0}, {"allowed_refs": ["main"]}):
        bad = server.client.put("/api/environments/staging", json=body, headers=headers)
        assert bad.status_code in (400, 422), body  # out of range, not a refs/ pattern
    put = server.client.put(
        "/api/environments/staging",
        json={"required_approvals": 3, "allowed_refs": ["refs/tags/v*"]},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    names = [e["name"] for e in server.client.get("/api/environments").json()["environments"]]
    assert names == ["production", "staging"]
    assert "environment.changed" in server.audit.actions()
