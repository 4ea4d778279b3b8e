"""Signed commits per protected branch (issue 14): a run of a branch that requires them
builds only a commit signed by a key of the server's allowed signers; anything else is
recorded as blocked with the reason, audited, and never executed. Real git repositories and
real ed25519 keys made by ssh-keygen."""

from __future__ import annotations

import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.audit import open_local_log
from bastion.home import ensure_bastion_home
from bastion.server import Role, ServerServices, ServerSettings, create_app
from bastion.server.errors import BadRequestError
from bastion.server.launcher import RunLauncher, RunRequest
from bastion.server.repositories import Repositories, Repository
from bastion.server.signed_runs import ALLOWED_SIGNERS, RUN_BLOCKED, signature_block
from bastion.server.triage import ServerSuppressions
from bastion.server.trust_policy import commit_signature_problem
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import Webhooks
from bastion.store import Database, RunRecord, open_database, sqlite_url
from tests.server.conftest import Clock, ListSink, Server
from tests.server.test_runs_api import work_tree
from tests.server.test_webhooks import SECRET
from tests.server.webhook_payloads import body_of, github_push, hub_signature

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PIPELINE = "name: t\non: [push]\njobs:\n  a:\n    steps:\n      - run: echo built\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def ssh_key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def signers_file(path: Path, *keys: Path) -> Path:
    lines = [f"dev@example.com {Path(f'{k}.pub').read_text().strip()}" for k in keys]
    path.write_text("\n".join(lines) + "\n")
    return path


def commit(repo: Path, message: str, key: Path | None = None) -> str:
    (repo / "change.txt").write_text(message)
    git(repo, "add", ".")
    signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"] if key else []
    git(repo, *signing, "commit", "-q", *(["-S"] if key else []), "-m", message)
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Signed:
    db: Database
    launcher: RunLauncher
    repositories: Repositories
    repo: Path
    allowed: Path  # the allowed signer's private key
    stranger: Path  # a key the server does not know

    def repository(self) -> Repository:
        return self.repositories.get("app")

    def run(self) -> RunRecord:
        run_id = self.launcher.submit(RunRequest(self.repository(), branch="main"))
        assert self.launcher.wait(run_id, 120)
        with self.db.session() as session:
            record = session.get_one(RunRecord, run_id)
            session.expunge(record)
            return record


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[Signed]:
    home = ensure_bastion_home()
    keys = tmp_path / "keys"
    keys.mkdir()
    allowed, stranger = ssh_key(keys, "allowed"), ssh_key(keys, "stranger")
    signers_file(home / ALLOWED_SIGNERS, allowed)
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock = lambda: datetime(2030, 1, 1, tzinfo=UTC)  # noqa: E731
    launcher = RunLauncher(db, home, ServerSuppressions(db, clock), concurrency=1)
    repositories = Repositories(db, clock)
    repo = work_tree(tmp_path / "app", PIPELINE)
    repositories.register("app", str(repo), added_by="setup", signed=["main"])
    try:
        yield Signed(db, launcher, repositories, repo, allowed, stranger)
    finally:
        launcher.close()
        db.dispose()


def audited_blocks(db: Database) -> list[dict[str, object]]:
    log, _ = open_local_log(db, ensure_bastion_home())
    return [dict(e.event.details) for e in log.entries() if e.event.action == RUN_BLOCKED]


def test_a_commit_signed_by_an_allowed_signer_runs(signed: Signed) -> None:
    commit(signed.repo, "signed", signed.allowed)
    record = signed.run()
    assert (record.status, record.reason) == ("passed", None)
    assert audited_blocks(signed.db) == []


def test_an_unsigned_commit_blocks_the_run_with_the_reason_audited(signed: Signed) -> None:
    head = commit(signed.repo, "unsigned")
    record = signed.run()
    assert record.status == "blocked"
    assert record.reason == f"main requires signed commits: commit {head[:12]} is not signed"
    assert record.started_at is None  # never executed
    [audited] = audited_blocks(signed.db)
    assert (audited["commit"], audited["reason"]) == (head, record.reason)


def test_a_commit_signed_by_an_unknown_key_blocks_the_run(signed: Signed) -> None:
    head = commit(signed.repo, "stranger", signed.stranger)
    record = signed.run()
    assert record.status == "blocked"
    assert f"commit {head[:12]} is not signed by an allowed signer" in (record.reason or "")


def test_the_repositorys_own_config_cannot_widen_the_signers(
    signed: Signed, tmp_path: Path
) -> None:
    head = commit(signed.repo, "stranger", signed.stranger)
    # The repository names a signers file holding the stranger's key, and a program that
    # accepts anything: the server's command line wins over both.
    wide = signers_file(tmp_path / "wide_signers", signed.allowed, signed.stranger)
    git(signed.repo, "config", "gpg.ssh.allowedSignersFile", str(wide))
    git(signed.repo, "config", "gpg.format", "ssh")
    assert git(signed.repo, "verify-commit", head) == ""  # the repository's own view: fine
    wider = signed.run()
    assert wider.status == "blocked"
    assert "not signed by an allowed signer" in (wider.reason or "")
    git(signed.repo, "config", "gpg.ssh.program", "/bin/true")
    lenient = signed.run()
    assert lenient.status == "blocked"
    assert "not signed by an allowed signer" in (lenient.reason or "")


def test_without_the_servers_signers_file_nothing_verifies(signed: Signed) -> None:
    commit(signed.repo, "signed", signed.allowed)
    (ensure_bastion_home() / ALLOWED_SIGNERS).unlink()
    record = signed.run()
    assert record.status == "blocked"
    assert "no allowed-signers file" in (record.reason or "")


def test_only_the_branches_named_require_signatures(signed: Signed) -> None:
    head = commit(signed.repo, "unsigned")
    repository, signers = signed.repository(), ensure_bastion_home() / ALLOWED_SIGNERS
    assert signature_block(repository, "refs/heads/main", head, signers) is not None
    assert signature_block(repository, "refs/heads/feature", head, signers) is None
    assert signature_block(repository, "refs/tags/v1", head, signers) is None
    assert commit_signature_problem(signed.repo, "--output=/tmp/x", signers) is not None


def test_a_signed_branch_must_be_protected(signed: Signed, tmp_path: Path) -> None:
    other = work_tree(tmp_path / "other", PIPELINE)
    with pytest.raises(BadRequestError, match="is not protected: list it in protected_branches"):
        signed.repositories.register("other", str(other), added_by="setup", signed=["dev"])
    made = signed.repositories.register(
        "other", str(other), added_by="setup", protected=["dev"], signed=["dev"]
    )
    assert made.requires_signed_commits("dev")
    assert not made.requires_signed_commits("main")
    with signed.db.session() as session:
        assert session.scalars(select(RunRecord)).all() == []


def test_a_forge_push_of_an_unsigned_commit_records_a_blocked_run(
    signed: Signed, tmp_path: Path
) -> None:
    """The webhook path: the server fetches the pushed commit into its own namespace, and the
    launcher blocks it there; the delivery is queued with the blocked run, so the forge shows
    it delivered and the run page says why nothing ran."""
    clock, audit = Clock(), ListSink()
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    app = create_app(settings, ServerServices(signed.db, audit, clock, launcher=signed.launcher))
    forge, mirror = tmp_path / "forge.git", tmp_path / "mirror.git"
    git(tmp_path, "init", "-q", "--bare", str(forge))
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(mirror))
    signed.repositories.register("mirrored", str(mirror), added_by="setup", signed=["main"])
    Webhooks(signed.db).configure("mirrored", Forge.GITHUB, SECRET, f"file://{forge}")
    client = TestClient(app, base_url="http://testserver")
    try:
        statuses = []
        for key in (None, signed.allowed):
            head = commit(signed.repo, f"pushed {key}", key)
            git(signed.repo, "push", "-q", "-f", str(forge), "main")
            body = body_of(github_push("refs/heads/main", head))
            headers = {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": hub_signature(SECRET, body),
                "Content-Type": "application/json",
            }
            response = client.post("/api/webhooks/github/mirrored", content=body, headers=headers)
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "queued"
            run_id = response.json()["run"]
            assert signed.launcher.wait(run_id, 120)
            with signed.db.session() as session:
                record = session.get_one(RunRecord, run_id)
                statuses.append((record.status, record.reason))
    finally:
        client.close()
    unsigned_head = statuses[0][1] or ""
    assert statuses[0][0] == "blocked"
    assert unsigned_head.startswith("main requires signed commits: commit ")
    assert unsigned_head.endswith(" is not signed")
    assert statuses[1] == ("passed", None)


def test_the_repositories_page_registers_and_shows_signed_branches(
    server: Server, tmp_path: Path
) -> None:
    server.add_user("root", Role.ADMIN)
    server.login("root")
    repo = work_tree(tmp_path / "paged", PIPELINE)
    form = {"name": "paged", "path": str(repo), "protected": "release", "signed": "main, release"}
    bad = server.client.post(
        "/repositories", data={**form, "signed": "dev"}, headers={"X-CSRF-Token": server.csrf()}
    )
    assert bad.status_code == 400
    assert "signed branch 'dev' is not protected" in bad.text
    done = server.client.post(
        "/repositories", data=form, headers={"X-CSRF-Token": server.csrf()}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert Repositories(server.db, server.clock).get("paged").signed_branches == ("main", "release")
    page = server.client.get("/repositories").text
    assert "<th>Signed commits</th>" in page
    assert "<td>main, release</td>" in page
