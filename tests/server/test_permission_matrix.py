"""Every route against every role, from a literal matrix written here (issue 13).

The matrix is the expected behaviour, spelled out by hand: the permission each route names in
the OpenAPI document (``x-bastion-permission``), the roles that hold it, whether a refusal is
404 (hidden) or 403, and whether it needs step-up. A new route without an entry here, an entry
of :data:`bastion.server.PERMISSIONS` that changes, or a guard that stops being applied, fails.
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from httpx import Response

from bastion.server import (
    Accounts,
    Grant,
    Permission,
    Role,
    ScopeKind,
    ServerServices,
    ServerSettings,
    create_app,
)
from bastion.server.auth import SESSION_COOKIE
from bastion.server.context import ServerContext
from bastion.server.permissions import rule_for
from bastion.server.principal import TokenScope
from bastion.server.routing import PERMISSION_KEY, route_marks
from bastion.store import JobRecord, RunRecord, open_database, sqlite_url
from tests.server.conftest import Clock, ListSink, Server
from tests.server.fake_launcher import QueueingLauncher
from tests.server.matrix_approvals import (
    APPROVAL_CALLS,
    APPROVAL_MATRIX,
    APPROVAL_PLACEHOLDERS,
)
from tests.server.matrix_model import (
    ADMIN,
    ADMIN_SECURITY,
    ALL,
    BUILDERS,
    NONE,
    Call,
    Caller,
    Entry,
)
from tests.server.matrix_monitor import MONITOR_CALLS, MONITOR_MATRIX, MONITOR_PLACEHOLDERS
from tests.server.matrix_resources import PLACEHOLDERS, RESOURCE_CALLS, RESOURCE_MATRIX, seed
from tests.server.matrix_webhooks import WEBHOOK_CALLS, WEBHOOK_MATRIX, WEBHOOK_PLACEHOLDERS
from tests.server.matrix_workers import WORKER_CALLS, WORKER_MATRIX
from tests.server.resource_server import make_resources

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/api/health"): Entry("public"),
    ("GET", "/api/me"): Entry("signed_in", ALL),
    ("GET", "/api/openapi.json"): Entry("signed_in", ALL),
    ("POST", "/api/step-up"): Entry("signed_in", ALL),
    ("GET", "/api/runs"): Entry("runs.read", ALL, refusal=404),
    ("GET", "/api/runs/{run_id}"): Entry("runs.read", ALL, refusal=404),
    ("POST", "/api/runs"): Entry("runs.write", BUILDERS),
    ("POST", "/api/runs/{run_id}/cancel"): Entry("runs.write", BUILDERS),
    ("POST", "/api/runs/{run_id}/rerun"): Entry("runs.write", BUILDERS),
    ("GET", "/api/runs/{run_id}/jobs/{job}/log"): Entry("runs.read", ALL, refusal=404),
    ("GET", "/api/repositories"): Entry("repos.read", ALL, refusal=404),
    ("POST", "/api/repositories"): Entry("repos.manage", ADMIN),
    ("GET", "/static/log.js"): Entry("public"),
    ("POST", "/api/webhooks/{forge}/{repo}"): Entry("public"),
    ("GET", "/.well-known/openid-configuration"): Entry("public"),
    ("GET", "/.well-known/jwks.json"): Entry("public"),
    ("GET", "/runs"): Entry("runs.read", ALL, refusal=404),
    ("GET", "/runs/{run_id}"): Entry("runs.read", ALL, refusal=404),
    ("GET", "/runs/{run_id}/jobs/{job}/log"): Entry("runs.read", ALL, refusal=404),
    ("POST", "/runs/{run_id}/cancel"): Entry("runs.write", BUILDERS),
    ("POST", "/runs/{run_id}/rerun"): Entry("runs.write", BUILDERS),
    ("GET", "/repositories"): Entry("repos.read", ALL, refusal=404),
    ("POST", "/repositories"): Entry("repos.manage", ADMIN),
    ("GET", "/api/tokens"): Entry("tokens.manage", ALL),
    ("POST", "/api/tokens"): Entry("tokens.create", ALL, step_up=True),
    ("DELETE", "/api/tokens/{token_id}"): Entry("tokens.manage", ALL),
    ("GET", "/api/users"): Entry("users.read", ADMIN_SECURITY),
    ("POST", "/api/users"): Entry("users.manage", ADMIN),
    ("POST", "/api/users/{name}/disable"): Entry("users.manage", ADMIN),
    ("POST", "/api/users/{name}/grants"): Entry("roles.change", ADMIN, step_up=True),
    ("GET", "/static/bastion.css"): Entry("public"),
    ("GET", "/login"): Entry("public"),
    ("POST", "/login"): Entry("public"),
    ("GET", "/mfa"): Entry("public"),
    ("POST", "/mfa"): Entry("public"),
    ("POST", "/logout"): Entry("signed_in", ALL),
    ("GET", "/"): Entry("runs.read", ALL, refusal=404),
    ("GET", "/mfa/enrol"): Entry("signed_in", ALL),
    ("POST", "/mfa/enrol"): Entry("signed_in", ALL),
    ("GET", "/setup/{token}"): Entry("public"),
    ("POST", "/setup/{token}"): Entry("public"),
    **RESOURCE_MATRIX,
    **MONITOR_MATRIX,
    **WORKER_MATRIX,
    **APPROVAL_MATRIX,
    **WEBHOOK_MATRIX,
}
GUARDED = sorted(
    (key for key, entry in MATRIX.items() if entry.permission != "public"),
    key=lambda key: (key == ("POST", "/logout"), key),  # signing out ends the walk
)


def _enrol_again(caller: Caller) -> Call:
    secret = caller.ctx.totp.begin(caller.user_id).secret
    totp = pyotp.TOTP(secret)

    def adopt() -> None:
        caller.totp = totp

    caller.server.clock.advance(seconds=30)
    return Call("/mfa/enrol", data={"code": totp.at(caller.server.clock.now)}, after=adopt)


def _own_token(caller: Caller) -> Call:
    scope = TokenScope(frozenset({"*"}), frozenset({Permission.RUNS_READ}))
    info, _value = caller.ctx.tokens.create(caller.user_id, caller.unique("t"), scope, 1)
    return Call(f"/api/tokens/{info.id}")


TOKEN_BODY = {"repositories": ["*"], "permissions": ["runs.read"], "expires_in_days": 1}
CALLS: dict[tuple[str, str], Callable[[Caller], Call]] = {
    ("GET", "/api/me"): lambda c: Call("/api/me"),
    ("GET", "/api/openapi.json"): lambda c: Call("/api/openapi.json"),
    ("POST", "/api/step-up"): lambda c: Call("/api/step-up", json={"code": c.fresh_code()}),
    ("GET", "/api/runs"): lambda c: Call("/api/runs"),
    ("GET", "/api/runs/{run_id}"): lambda c: Call(f"/api/runs/{c.run_id}"),
    ("POST", "/api/runs"): lambda c: Call("/api/runs", json={"repo": "app", "branch": "main"}),
    ("POST", "/api/runs/{run_id}/cancel"): lambda c: Call(f"/api/runs/{c.run_id}/cancel"),
    ("POST", "/api/runs/{run_id}/rerun"): lambda c: Call(f"/api/runs/{c.run_id}/rerun"),
    ("GET", "/api/runs/{run_id}/jobs/{job}/log"): lambda c: Call(
        f"/api/runs/{c.run_id}/jobs/build/log"
    ),
    ("GET", "/api/repositories"): lambda c: Call("/api/repositories"),
    ("POST", "/api/repositories"): lambda c: Call(
        "/api/repositories", json={"name": c.unique("repo"), "path": REPO_PATHS[id(c.server)]}
    ),
    ("GET", "/runs"): lambda c: Call("/runs"),
    ("GET", "/runs/{run_id}"): lambda c: Call(f"/runs/{c.run_id}"),
    ("GET", "/runs/{run_id}/jobs/{job}/log"): lambda c: Call(f"/runs/{c.run_id}/jobs/build/log"),
    ("POST", "/runs/{run_id}/cancel"): lambda c: Call(f"/runs/{c.run_id}/cancel"),
    ("POST", "/runs/{run_id}/rerun"): lambda c: Call(f"/runs/{c.run_id}/rerun"),
    ("GET", "/repositories"): lambda c: Call("/repositories"),
    ("POST", "/repositories"): lambda c: Call(
        "/repositories", data={"name": c.unique("repo"), "path": REPO_PATHS[id(c.server)]}
    ),
    ("GET", "/api/tokens"): lambda c: Call("/api/tokens"),
    ("POST", "/api/tokens"): lambda c: Call("/api/tokens", json=TOKEN_BODY | {"name": "ci"}),
    ("DELETE", "/api/tokens/{token_id}"): _own_token,
    ("GET", "/api/users"): lambda c: Call("/api/users"),
    ("POST", "/api/users"): lambda c: Call("/api/users", json={"name": c.unique("new")}),
    ("POST", "/api/users/{name}/disable"): lambda c: Call(f"/api/users/{c.target()}/disable"),
    ("POST", "/api/users/{name}/grants"): lambda c: Call(
        f"/api/users/{c.target()}/grants", json={"role": "viewer"}
    ),
    ("POST", "/logout"): lambda c: Call("/logout"),
    ("GET", "/"): lambda c: Call("/"),
    ("GET", "/mfa/enrol"): lambda c: Call("/mfa/enrol"),
    ("POST", "/mfa/enrol"): _enrol_again,
    **RESOURCE_CALLS,
    **MONITOR_CALLS,
    **WORKER_CALLS,
    **APPROVAL_CALLS,
    **WEBHOOK_CALLS,
}


def add_run(server: Server, repo: str = "app") -> int:
    with server.db.session() as session:
        run = RunRecord(
            repo=repo,
            commit="0" * 40,
            event="push",
            trust="trusted",
            pipeline_path=".bastion/pipeline.yml",
            pipeline_digest="sha256:" + "0" * 64,
            status="passed",
        )
        run.jobs.append(JobRecord(name="build", kind="build", status="passed"))
        session.add(run)
        session.flush()
        return run.id


REPO_PATHS: dict[int, str] = {}  # each server's registered git repository


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The conftest's server, with a launcher that queues without running, a registered
    git repository ``app`` (``repo_path`` for the routes that register one) and every
    resource store, seeded (:func:`tests.server.matrix_resources.seed`)."""
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock, audit = Clock(), ListSink()
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    resources = make_resources(db, tmp_path / "home")
    services = ServerServices(
        db, audit, clock, launcher=QueueingLauncher(db, cancels=True), resources=resources
    )
    client = TestClient(create_app(settings, services), base_url="http://testserver")
    made = Server(client, db, audit, clock, Accounts(db, settings, clock), settings)
    repo = tmp_path / "app"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    REPO_PATHS[id(made)] = str(repo)
    made.client.app.state.bastion.repositories.register(  # type: ignore[attr-defined]
        "app", str(repo), added_by="setup"
    )
    seed(made)
    try:
        yield made
    finally:
        client.close()
        db.dispose()


def session_csrf(server: Server) -> str:
    """The CSRF token of the client's current session, read from the store."""
    ctx: ServerContext = server.client.app.state.bastion  # type: ignore[attr-defined]
    info = ctx.sessions.resolve(server.client.cookies.get(SESSION_COOKIE, ""))
    return info.csrf_token if info else ""


def send(server: Server, method: str, call: Call, headers: dict[str, str]) -> Response:
    response: Response = server.client.request(
        method, call.url, json=call.json, data=call.data, headers=headers, follow_redirects=False
    )
    return response


def succeeded(response: Response) -> bool:
    """2xx, or a page's redirect (a refused page also redirects, to /login: the callers tell
    the two apart by the audit log's ``request.denied`` event)."""
    return 200 <= response.status_code < 300 or response.status_code == 303


def stepped_up_caller(server: Server, role: Role) -> Caller:
    """A user with ``role`` on the instance, signed in with TOTP enrolled and stepped up."""
    name = f"{role.value}-user"
    server.add_user(name, role)
    server.login(name)
    totp = server.enrol_totp()
    caller = Caller(server, name, server.accounts.by_name(name).id, totp, add_run(server))
    stepped = server.client.post(
        "/api/step-up",
        json={"code": caller.fresh_code()},
        headers={"X-CSRF-Token": session_csrf(server)},
    )
    assert stepped.status_code == 200, stepped.text
    return caller


def test_every_route_has_an_entry_naming_its_permission(server: Server) -> None:
    app = server.client.app
    assert isinstance(app, FastAPI)
    document = app.openapi()
    marked = {
        (method.upper(), path): operation.get(PERMISSION_KEY)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert marked == {key: entry.permission for key, entry in MATRIX.items()}
    # A route left out of the document would escape the matrix: there is none.
    served = {(m, path) for path, methods, _ in route_marks(app) for m in methods - {"HEAD"}}
    assert served == set(marked)
    assert set(CALLS) == set(GUARDED)


@pytest.mark.parametrize("key", sorted(MATRIX), ids=" ".join)
def test_the_permission_table_matches_the_matrix(key: tuple[str, str]) -> None:
    entry = MATRIX[key]
    rule = rule_for(Permission(entry.permission))
    if entry.permission == "public":
        assert rule.roles == NONE
        return
    assert rule.roles == entry.roles
    assert rule.hide == (entry.refusal == 404)
    assert rule.step_up == entry.step_up


def _outcome(caller: Caller, key: tuple[str, str], entry: Entry, role: Role) -> str | None:
    """None if the route answered as the matrix says for ``role``, else what went wrong."""
    server, method = caller.server, key[0]
    call = CALLS[key](caller)
    denied_before = server.audit.actions().count("request.denied")
    response = send(server, method, call, {"X-CSRF-Token": session_csrf(server)})
    denied = server.audit.actions().count("request.denied") > denied_before
    if role in entry.roles:
        if succeeded(response) and not denied:
            if call.after is not None:
                call.after()
            return None
        return f"{method} {call.url}: expected success, got {response.status_code}"
    if response.status_code == entry.refusal and denied:
        return None
    return f"{method} {call.url}: expected {entry.refusal} (audited), got {response.status_code}"


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_with_a_stepped_up_session_gets_what_the_matrix_says(
    server: Server, role: Role
) -> None:
    caller = stepped_up_caller(server, role)
    wrong = [_outcome(caller, key, MATRIX[key], role) for key in GUARDED]
    assert [w for w in wrong if w] == []


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_with_a_token_gets_what_the_matrix_says_minus_step_up(
    server: Server, role: Role
) -> None:
    caller = stepped_up_caller(server, role)
    scope = TokenScope(frozenset({"*"}), frozenset(Permission))
    _info, value = caller.ctx.tokens.create(caller.user_id, "all", scope, 1)
    server.client.cookies.clear()
    bearer = {"Authorization": f"Bearer {value}"}
    wrong = []
    for key in (k for k in GUARDED if k[1].startswith("/api/") or k[1] == "/metrics"):
        entry, call = MATRIX[key], CALLS[key](caller)
        response = send(server, key[0], call, bearer)
        if role not in entry.roles:
            expected = str(entry.refusal)
        elif entry.step_up or key == ("POST", "/api/step-up"):
            expected = "403"  # step-up needs a session: a token never counts as stepped up
        else:
            expected = "success"
        got = "success" if succeeded(response) else str(response.status_code)
        if got != expected:
            wrong.append(f"{key[0]} {call.url}: expected {expected}, got {got}")
    assert wrong == []


def test_a_session_not_stepped_up_is_refused_the_step_up_routes(server: Server) -> None:
    server.add_user("root", Role.ADMIN)
    server.login("root")
    server.enrol_totp()
    caller = Caller(server, "root", server.accounts.by_name("root").id, pyotp.TOTP("A" * 32), 0)
    for key in (k for k in GUARDED if MATRIX[k].step_up):
        call = CALLS[key](caller)
        response = send(server, key[0], call, {"X-CSRF-Token": session_csrf(server)})
        assert response.status_code == 403, key
        assert response.json()["type"] == "urn:bastion:problem:step-up-required"
        assert server.audit.events[-1].action == "request.denied"


def test_an_anonymous_caller_is_refused_every_guarded_route_and_audited(server: Server) -> None:
    server.add_user("someone", Role.ADMIN)  # objects exist; the caller is still nobody
    values = {"run_id": add_run(server), "token_id": 1, "name": "someone", "job": "build"}
    values |= PLACEHOLDERS | MONITOR_PLACEHOLDERS | APPROVAL_PLACEHOLDERS | WEBHOOK_PLACEHOLDERS
    for key in GUARDED:
        call = Call(key[1].format(**values))
        before = len(server.audit.events)
        response = send(server, key[0], call, {})
        if call.url.startswith("/api/") or call.url == "/metrics":  # a scraper: no redirect
            assert response.status_code == 401, key
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert (response.status_code, response.headers["location"]) == (303, "/login"), key
        assert [e.action for e in server.audit.events[before:]] == ["request.denied"], key
        assert server.audit.events[-1].actor == "anonymous"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/health"),
        ("GET", "/.well-known/openid-configuration"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/static/bastion.css"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/mfa"),
        ("POST", "/mfa"),
        ("GET", "/setup/unknown"),
        ("POST", "/setup/unknown"),
    ],
)
def test_public_routes_answer_without_a_guard(server: Server, method: str, url: str) -> None:
    assert MATRIX[(method, url.replace("unknown", "{token}"))].permission == "public"
    response = server.client.request(method, url, follow_redirects=False)
    assert response.status_code not in (401, 403)
    assert "request.denied" not in server.audit.actions()


def test_a_run_of_a_repository_not_granted_is_hidden_like_an_unknown_one(server: Server) -> None:
    seen, hidden = add_run(server, "app"), add_run(server, "payroll")
    server.add_user("dev", None)
    server.accounts.grant("dev", Grant(Role.DEVELOPER, ScopeKind.REPOSITORY, "app"))
    server.login("dev")
    assert server.client.get(f"/api/runs/{seen}").status_code == 200
    assert {r["repo"] for r in server.client.get("/api/runs").json()["runs"]} == {"app"}
    refused = server.client.get(f"/api/runs/{hidden}")
    unknown = server.client.get("/api/runs/999")
    assert refused.status_code == unknown.status_code == 404
    same = unknown.json() | {"detail": f"no run {hidden}", "instance": f"/api/runs/{hidden}"}
    assert refused.json() == same
    # Only the hidden one is a refusal in the audit log; the caller cannot tell them apart.
    assert server.audit.actions().count("request.denied") == 1
