"""The fetch itself checks where it goes (server-side request forgery): a clone URL whose
host now resolves to an internal address is not fetched from, git follows no redirect (one
could point inside) and speaks only the clone URL's own protocol."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import ClassVar

import pytest

from bastion.server import clone_hosts, webhook_fetch
from bastion.server.clone_hosts import IPAddress
from bastion.server.repositories import Repository
from bastion.server.trust_policy import Trigger
from bastion.server.webhook_config import WebhookSettings
from bastion.server.webhook_events import ForgeEvent
from bastion.server.webhook_fetch import FetchError, TriggerInputs, fetch_trigger
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Deliveries
from tests.server.test_webhooks import SECRET, Forged, git, make_forged
from tests.server.webhook_payloads import github_push

INPUTS = TriggerInputs(author_developer=True, allowed_signers=None)


def answering(table: dict[str, str]) -> clone_hosts.Resolver:
    def resolve(host: str) -> list[IPAddress]:
        return [ip_address(table[host])] if host in table else []

    return resolve


def test_a_host_that_now_resolves_to_loopback_is_not_fetched_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_forged(tmp_path)
    table = {"git.corp.example": "10.20.0.4"}
    monkeypatch.setattr(clone_hosts, "system_resolver", answering(table))
    url = "https://git.corp.example/forge.git"
    settings = WebhookSettings(made.server.db, made.server.clock)
    assert settings.set("app", Forge.GITHUB, SECRET, url).clone_url == url  # a maintainer's
    table["git.corp.example"] = "127.0.0.1"  # the name's owner repoints it
    head = git(made.work, "rev-parse", "HEAD")
    response = made.github("push", github_push("refs/heads/main", head), delivery="d-1")
    assert response.status_code == 502, response.text
    status = Deliveries(made.server.db, made.server.clock).status(Forge.GITHUB, "d-1")
    assert status is not None
    assert status[0] == "failed"
    assert str(status[1]).startswith(
        "not fetched: the clone URL's host git.corp.example resolves to 127.0.0.1, a loopback "
        "address; the server fetches from no loopback, link-local, metadata"
    )
    assert made.launcher.requests == []
    assert git(made.mirror, "for-each-ref", "refs/bastion") == ""  # git never ran a fetch
    made.server.client.close()


@pytest.fixture
def forged_file(tmp_path: Path) -> Iterator[Forged]:
    made = make_forged(tmp_path)  # file:// of the forge's repository
    yield made
    made.server.client.close()


def test_a_file_url_set_by_an_admin_is_still_fetched(forged_file: Forged) -> None:
    head = git(forged_file.work, "rev-parse", "HEAD")
    response = forged_file.github("push", github_push("refs/heads/main", head))
    assert response.status_code == 202, response.text


def _repository(path: Path) -> Repository:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    return Repository("app", path, "main", (), "t", 60, {}, now)


def _push_event() -> ForgeEvent:
    return ForgeEvent(Trigger.PUSH, "refs/heads/main", "0" * 40, "dev")


class _Redirecting(BaseHTTPRequestHandler):
    """Answers every request with a 302 to ``target``; counts what it serves."""

    target: ClassVar[str]
    seen: ClassVar[list[str]]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.target:
            self.send_response(302)
            self.send_header("Location", self.target + self.path)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


def _serve(target: str) -> tuple[ThreadingHTTPServer, list[str]]:
    seen: list[str] = []
    handler = type("Handler", (_Redirecting,), {"target": target, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def test_git_follows_no_redirect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a loopback server runs offline: the address rule (tested above) is lifted here.
    monkeypatch.setattr(webhook_fetch, "check_clone_host", lambda url: None)
    inside, reached = _serve("")
    outside, asked = _serve(f"http://127.0.0.1:{inside.server_address[1]}")
    try:
        url = f"http://127.0.0.1:{outside.server_address[1]}/forge.git"
        with pytest.raises(FetchError, match="cannot fetch refs/heads/main from the clone URL"):
            fetch_trigger(_repository(tmp_path / "mirror.git"), url, _push_event(), INPUTS)
        assert asked  # git asked the first server...
        assert reached == []  # ...and did not follow it to the second
    finally:
        for server in (inside, outside):
            server.shutdown()
            server.server_close()


def test_git_speaks_only_the_clone_urls_protocol(tmp_path: Path) -> None:
    forge = tmp_path / "forge.git"
    subprocess.run(["git", "init", "-q", "--bare", str(forge)], check=True)
    repository = _repository(tmp_path / "mirror.git")
    url = "git://10.255.255.1/forge.git"  # private: passes the address rule, no DNS
    # The server's git config (or the user's) rewrites it to another transport.
    git(repository.path, "config", f"url.file://{forge}.insteadOf", url)
    with pytest.raises(FetchError, match="transport 'file' not allowed"):
        fetch_trigger(repository, url, _push_event(), INPUTS)
