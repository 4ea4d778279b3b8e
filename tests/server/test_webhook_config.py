"""A repository's webhook through the API (issue 14): its maintainers and admins set, see and
remove it; nobody else can, a weak secret or a clone URL the fetcher must not be pointed at
is refused with the rule, and the secret never comes back: not in an answer, an audit event
or a log line."""

from __future__ import annotations

import json
import logging
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from httpx import Response

from bastion.server import (
    Accounts,
    Grant,
    Permission,
    Role,
    ScopeKind,
    ServerServices,
    ServerSettings,
    clone_hosts,
    create_app,
)
from bastion.server.clone_hosts import IPAddress
from bastion.server.context import ServerContext
from bastion.server.errors import BadRequestError
from bastion.server.principal import TokenScope
from bastion.server.webhook_config import WebhookSettings
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Webhooks
from bastion.store import Database, open_database, sqlite_url
from tests.server.conftest import Clock, ListSink

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "Tq7-webhook-secret-4b9e1c"
SIGNING_KEY = "whsec_" + "c2lnbmluZy1rZXktb2YtZ2l0bGFiLTMyLWJ5dGVzISE="
URL = "https://forge.example/team/app.git"
PATH = "/api/repositories/app/webhook"


@dataclass
class Hooks:
    """A server with ``app`` and ``other`` registered and one token per person."""

    client: TestClient
    db: Database
    audit: ListSink
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)
    answers: list[Response] = field(default_factory=list)

    def call(self, who: str, method: str, url: str = PATH, **kwargs: Any) -> Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        response: Response = self.client.request(method, url, headers=headers, **kwargs)
        self.answers.append(response)
        return response

    def put(self, who: str, **body: Any) -> Response:
        return self.call(who, "PUT", json={"forge": "github", "clone_url": URL} | body)

    def stored_secret(self) -> str:
        return Webhooks(self.db).get("app", Forge.GITHUB).secret.secret


PEOPLE = {
    "admin": Grant(Role.ADMIN),
    "maint": Grant(Role.MAINTAINER, ScopeKind.REPOSITORY, "app"),
    "dev": Grant(Role.DEVELOPER, ScopeKind.REPOSITORY, "app"),
    "viewer": Grant(Role.VIEWER, ScopeKind.REPOSITORY, "app"),
    "outsider": Grant(Role.MAINTAINER, ScopeKind.REPOSITORY, "other"),
    "mixed": Grant(Role.MAINTAINER, ScopeKind.REPOSITORY, "other"),  # and viewer of app
}


# What the server's resolver answers in these tests (offline: nothing else resolves).
NAMES = {
    "forge.example": ["203.0.113.7"],
    "git.corp.example": ["10.20.0.4", "fd00:20::4"],
    "rebound.example": ["203.0.113.8", "127.0.0.1"],
    "metadata.google.internal": ["169.254.169.254"],
}


@pytest.fixture(autouse=True)
def names(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: str) -> list[IPAddress]:
        return [ip_address(a) for a in NAMES.get(host, [])]

    monkeypatch.setattr(clone_hosts, "system_resolver", resolve)


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Hooks]:
    db = open_database(sqlite_url(tmp_path / "server.db"))
    audit, clock = ListSink(), Clock()
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    app = create_app(settings, ServerServices(db, audit, clock))
    ctx: ServerContext = app.state.bastion
    for name in ("app", "other"):
        subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path / name)], check=True)
        ctx.repositories.register(name, str(tmp_path / name), added_by="setup")
    accounts = Accounts(db, settings, clock)
    made = Hooks(TestClient(app, base_url="http://testserver"), db, audit, clock)
    everything = TokenScope(frozenset({"*"}), frozenset(Permission))
    for name, grant in PEOPLE.items():
        user, _setup = accounts.add(name, None)
        accounts.grant(name, grant)
        made.tokens[name] = ctx.tokens.create(user.id, "cli", everything, 1)[1]
    accounts.grant("mixed", Grant(Role.VIEWER, ScopeKind.REPOSITORY, "app"))
    try:
        yield made
    finally:
        made.client.close()
        db.dispose()


@pytest.mark.parametrize("who", ["admin", "maint"])
def test_a_maintainer_or_admin_sets_sees_and_removes_it(hooks: Hooks, who: str) -> None:
    put = hooks.put(who, secret=SECRET)
    assert put.status_code == 200, put.text
    shown = {"repo": "app", "forge": "github", "clone_url": URL, "secret_set": True}
    times = {"created_at": put.json()["created_at"], "rotated_at": None}
    assert put.json() == shown | {"signed": False} | times
    assert datetime.fromisoformat(put.json()["created_at"]) == hooks.clock.now
    assert hooks.stored_secret() == SECRET  # what the intake verifies deliveries with
    assert hooks.call(who, "GET").json() == put.json()
    configured = hooks.audit.events[-1]
    assert (configured.action, configured.subject) == ("webhook.configured", "repo/app")
    assert configured.details["forge"] == "github"
    assert configured.details["replaced"] is False

    removed = hooks.call(who, "DELETE")
    assert removed.status_code == 200, removed.text
    assert hooks.audit.events[-1].action == "webhook.removed"
    assert hooks.call(who, "GET").status_code == 404
    assert hooks.call(who, "DELETE").status_code == 404
    with pytest.raises(Exception, match="no github webhook"):
        hooks.stored_secret()


def test_replacing_it_rotates_the_secret_and_says_when(hooks: Hooks) -> None:
    created = hooks.put("maint", secret=SECRET).json()["created_at"]
    hooks.clock.advance(hours=3)  # the tokens live one day
    moved = hooks.put("maint", secret=SECRET, clone_url=URL + "/moved").json()
    assert (moved["created_at"], moved["rotated_at"]) == (created, None)  # same secret
    hooks.clock.advance(hours=4)
    rotated = "Zr8-another-secret-5c0f2d"
    answer = hooks.put("maint", secret=rotated)
    assert answer.status_code == 200
    assert hooks.stored_secret() == rotated
    assert answer.json()["created_at"] == created
    assert datetime.fromisoformat(answer.json()["rotated_at"]) == hooks.clock.now
    assert hooks.audit.events[-1].details["replaced"] is True


def test_a_webhook_written_before_times_were_kept_shows_none(hooks: Hooks) -> None:
    Webhooks(hooks.db).configure("app", Forge.GITHUB, SECRET, URL)
    shown = hooks.call("maint", "GET").json()
    assert (shown["created_at"], shown["rotated_at"], shown["secret_set"]) == (None, None, True)


@pytest.mark.parametrize("who", ["dev", "viewer", "mixed"])
def test_a_developer_or_viewer_cannot_set_see_or_remove_it(hooks: Hooks, who: str) -> None:
    Webhooks(hooks.db).configure("app", Forge.GITHUB, SECRET, URL)
    for method in ("PUT", "GET", "DELETE"):
        before = len(hooks.audit.events)
        body = {"forge": "gitea", "clone_url": URL, "secret": "Attacker-chosen-secret-77"}
        response = hooks.call(who, method, json=body if method == "PUT" else None)
        assert response.status_code == 403, (method, response.text)
        assert [e.action for e in hooks.audit.events[before:]] == ["request.denied"]
    assert hooks.stored_secret() == SECRET  # unchanged, still there


def test_a_repository_not_granted_answers_like_an_unknown_one(hooks: Hooks) -> None:
    hidden = hooks.put("outsider", secret=SECRET)  # maintainer of "other", not of "app"
    unknown = hooks.call("outsider", "PUT", "/api/repositories/nope/webhook", json=_body())
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    same = unknown.json() | {"detail": "no repository app", "instance": PATH}
    assert hidden.json() == same  # nothing tells that "app" exists
    assert hooks.put("admin", secret=SECRET).status_code == 200
    assert hooks.call("outsider", "GET").status_code == 404
    assert hooks.call("outsider", "DELETE").status_code == 404
    assert hooks.stored_secret() == SECRET
    nope = hooks.call("admin", "GET", "/api/repositories/nope/webhook")
    assert (nope.status_code, nope.json()["detail"]) == (404, "no repository nope")


def _body(**changes: str) -> dict[str, str]:
    return {"forge": "github", "clone_url": URL, "secret": SECRET} | changes


@pytest.mark.parametrize(
    "weak",
    [
        "short-Secret-1",  # 14 characters
        "a" * 40,  # one character
        "abababababababababababab",  # two
        "correct horse battery staple 42",  # spaces
        "geheimnis-\u00e4\u00f6\u00fc-0123456789",  # not ASCII: mangled in header values
        "x" * 300,
    ],
)
def test_a_weak_secret_is_400_naming_the_rule_not_the_secret(hooks: Hooks, weak: str) -> None:
    response = hooks.put("maint", secret=weak)
    assert response.status_code == 400, response.text
    assert "at least 10 of them different" in response.json()["detail"]
    assert weak not in response.text
    assert "webhook.configured" not in hooks.audit.actions()


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("ext::sh -c touch% /tmp/pwned", 400),
        ("ext::sh -c 'id>/tmp/x'", 400),
        ("--upload-pack=touch /tmp/pwned", 400),
        ("/etc", 400),
        ("forge.example:team/app.git", 400),  # scp-like: ssh with no scheme
        ("ssh://-oProxyCommand=touch%20pwned/x", 400),
        ("https://forge.example/a b", 400),
        ("file:///etc", 403),  # the server's own disk: admins only
        ("FILE:///var/lib/bastion/other", 403),
        ("file:///var/lib/bastion/repos/other", 403),
    ],
)
def test_a_clone_url_the_fetcher_must_not_follow_is_refused(
    hooks: Hooks, url: str, status: int
) -> None:
    response = hooks.put("maint", secret=SECRET, clone_url=url)
    assert response.status_code == status, response.text
    assert SECRET not in response.text
    assert "webhook.configured" not in hooks.audit.actions()
    if status == 403:
        assert hooks.audit.events[-1].action == "request.denied"
        assert hooks.audit.events[-1].details["permission"] == "repos.manage"


def test_an_admin_may_fetch_from_the_servers_disk(hooks: Hooks, tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'other'}"
    response = hooks.put("admin", secret=SECRET, clone_url=url)
    assert response.status_code == 200, response.text
    assert response.json()["clone_url"] == url
    refused = hooks.put("admin", secret=SECRET, clone_url="ext::sh -c id")
    assert refused.status_code == 400


def test_credentials_in_the_clone_url_are_masked_wherever_shown(hooks: Hooks) -> None:
    url = "https://bot:glpat-Xk2mP9qLw7@forge.example/team/app.git"
    assert hooks.put("maint", secret=SECRET, clone_url=url).status_code == 200
    masked = "https://***@forge.example/team/app.git"
    assert hooks.call("maint", "GET").json()["clone_url"] == masked
    assert hooks.audit.events[-1].details["clone_url"] == masked
    assert Webhooks(hooks.db).get("app", Forge.GITHUB).clone_url == url  # fetched with it


def test_gitlab_signed_webhooks_take_a_signing_key(hooks: Hooks) -> None:
    gitlab = {"forge": "gitlab", "secret": SECRET}
    assert hooks.put("maint", **gitlab, signing_key=SIGNING_KEY).json()["signed"] is True
    stored = Webhooks(hooks.db).get("app", Forge.GITLAB).secret
    assert stored.signing_key == SIGNING_KEY
    for bad in ("whsec_not base64!", "whsec_c2hvcnQ=", ""):
        response = hooks.put("maint", **gitlab, signing_key=bad)
        assert response.status_code == 400, bad
        assert "whsec_" in response.json()["detail"]
    github = hooks.put("maint", secret=SECRET, signing_key=SIGNING_KEY)
    assert github.status_code == 400
    assert github.json()["detail"] == "a signing key is GitLab's; github webhooks have none"


def test_the_secret_never_appears_in_an_answer_an_audit_event_or_a_log(
    hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gitlab = {"forge": "gitlab", "secret": SECRET, "signing_key": SIGNING_KEY}
    hooks.put("maint", **gitlab)
    hooks.put("maint", **gitlab | {"clone_url": "ext::sh"})
    hooks.put("maint", **gitlab | {"forge": "bitbucket"})  # 422
    hooks.put("maint", **gitlab | {"extra": SECRET})  # 422 naming the field only
    hooks.put("dev", **gitlab)  # 403
    hooks.call("maint", "GET")
    hooks.call("viewer", "GET")
    hooks.call("maint", "DELETE")
    assert {r.status_code for r in hooks.answers} == {200, 400, 403, 422}
    events = json.dumps([e.__dict__ for e in hooks.audit.events], default=str)
    everything = [r.text for r in hooks.answers] + [events, caplog.text]
    for secret in (SECRET, SIGNING_KEY, SIGNING_KEY.removeprefix("whsec_")):
        assert not [text for text in everything if secret in text]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://127.0.0.1:6379/", "loopback"),
        ("https://2130706433/app.git", "loopback"),
        ("https://0x7f.1/app.git", "loopback"),
        ("https://127.1/app.git", "loopback"),
        ("https://[::1]:5432/app.git", "loopback"),
        ("git://[::ffff:127.0.0.1]/app.git", "loopback"),
        ("https://rebound.example/app.git", "loopback"),  # one of its addresses
        ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
        ("ssh://git@[fe80::1]/app.git", "link-local"),
        ("https://0.0.0.0/app.git", "unspecified"),
        ("https://224.0.0.251/app.git", "multicast"),
        ("https://240.0.0.1/app.git", "reserved"),
    ],
)
def test_a_maintainer_cannot_point_the_server_at_an_internal_address(
    hooks: Hooks, url: str, kind: str
) -> None:
    response = hooks.put("maint", secret=SECRET, clone_url=url)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert f" {kind} address: only an admin may set it (ask an admin;" in detail
    assert "webhook.configured" not in hooks.audit.actions()
    assert hooks.call("maint", "GET").status_code == 404  # nothing stored


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.7/team/app.git",
        "ssh://172.16.4.2/app.git",
        "https://192.168.1.20:3000/app.git",
        "git://[fd12:3456::7]/app.git",
        "https://git.corp.example/team/app.git",  # resolves to private addresses
    ],
)
def test_a_maintainer_may_name_a_git_server_on_a_private_network(hooks: Hooks, url: str) -> None:
    response = hooks.put("maint", secret=SECRET, clone_url=url)
    assert response.status_code == 200, response.text
    assert hooks.audit.events[-1].details["clone_url"] == url


def test_a_host_that_does_not_resolve_cannot_be_checked_so_is_refused(hooks: Hooks) -> None:
    response = hooks.put("maint", secret=SECRET, clone_url="https://git.nowhere.example/a.git")
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (
        "the clone URL's host git.nowhere.example does not resolve from the server, so its "
        "addresses cannot be checked: only an admin may set it (ask an admin; a git server "
        "on this machine is fetched through file:// or a private address)"
    )


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1:3000/app.git", "https://0x7f.1/app.git", "https://git.nowhere.example/"],
)
def test_an_admin_may_set_any_host(hooks: Hooks, url: str) -> None:
    response = hooks.put("admin", secret=SECRET, clone_url=url)
    assert response.status_code == 200, response.text
    configured = hooks.audit.events[-1]
    assert (configured.action, configured.details["clone_url"]) == ("webhook.configured", url)
    Webhooks(hooks.db).configure("app", Forge.GITHUB, SECRET, URL)
    settings = WebhookSettings(hooks.db, hooks.clock)
    with pytest.raises(BadRequestError, match="only an admin may set it"):
        settings.set("app", Forge.GITHUB, SECRET, url)
    assert settings.set("app", Forge.GITHUB, SECRET, url, any_host=True).clone_url == url
    assert Webhooks(hooks.db).get("app", Forge.GITHUB).clone_url == url
    refused = settings.set  # the host syntax rules still hold for an admin
    with pytest.raises(BadRequestError, match="starting with '-'"):
        refused("app", Forge.GITHUB, SECRET, "ssh://-oProxyCommand=id/x", any_host=True)
