"""The GitOps target against local bare repositories: signed publish, sync, refusals, races.

Issue 18: deploy writes a signed commit; sync deploys it and a second sync is a no-op; an
unsigned commit pushed by someone else is refused; a concurrent push costs one retry, a
persistent rejection fails with the remote's reason.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bastion.deploy import (
    GitOpsError,
    GitOpsKey,
    GitOpsRefusedError,
    GitOpsTarget,
    Manifest,
    PublishResult,
    Strategy,
    SyncResult,
    default_manifest_path,
    deploy_gitops,
    sync,
)
from tests.support import git

from .conftest import World

DIRECT = (Strategy.DIRECT, (100,))


def _bare(tmp_path: Path) -> Path:
    remote = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    return remote


def _target(remote: Path) -> GitOpsTarget:
    return GitOpsTarget(str(remote), "main", default_manifest_path("staging"))


def _publish(world: World, remote: Path, version: str) -> PublishResult:
    digest = world.versions[version]
    return deploy_gitops(world.home, world.deployer(), digest, DIRECT, _target(remote))


def _push_other(remote: Path, work: Path, name: str, text: str) -> None:
    """Someone else pushes an unsigned commit changing ``name``."""
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    git(work, "pull", "-q", "--rebase", "origin", "main")
    (work / name).parent.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(text, encoding="utf-8")
    git(work, "add", name)
    git(work, "commit", "-q", "-m", f"edit {name}")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")


def _sync(world: World, remote: Path) -> SyncResult:
    signers = GitOpsKey.of(world.home).allowed_signers
    path = default_manifest_path("staging")
    return sync(str(remote), "main", path, world.deployer(), signers, world.sink)


def test_publish_writes_a_signed_commit(world: World, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    result = _publish(world, remote, "v1")
    assert (result.changed, result.attempts) == (True, 1)
    signers = GitOpsKey.of(world.home).allowed_signers
    shown = subprocess.run(
        [
            *("git", "-C", str(remote), "-c", f"gpg.ssh.allowedSignersFile={signers}"),
            *("log", "-1", "--format=%G?%n%H", "main"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown == ["G", result.commit]
    assert ("deploy.published", "success", "") in world.actions()
    again = _publish(world, remote, "v1")
    assert (again.commit, again.changed) == (result.commit, False)


def test_sync_deploys_then_is_a_no_op(world: World, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    _publish(world, remote, "v1")
    first = _sync(world, remote)
    running = world.state().running()
    assert running is not None
    assert running.digest == world.versions["v1"]
    assert first.to_dict()["outcome"] == "deployed"
    second = _sync(world, remote)
    assert second.to_dict()["outcome"] == "in-sync"
    assert world.state().running() == running


def test_unsigned_commit_is_refused(world: World, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    _publish(world, remote, "v1")
    _push_other(remote, tmp_path / "other", "README", "hello\n")
    with pytest.raises(GitOpsRefusedError) as caught:
        _sync(world, remote)
    assert caught.value.reason == "untrusted-commit"
    assert world.state().running() is None
    assert ("gitops.verified", "denied", "untrusted-commit") in world.actions()


def test_commit_signed_by_unknown_key_is_refused(world: World, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    _publish(world, remote, "v1")
    stranger = GitOpsKey.of(tmp_path / "stranger").ensure()
    with pytest.raises(GitOpsRefusedError):
        sync(
            str(remote),
            "main",
            default_manifest_path("staging"),
            world.deployer(),
            stranger.allowed_signers,
            world.sink,
        )
    assert world.state().running() is None


def test_concurrent_push_is_retried_once(world: World, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    _publish(world, remote, "v1")

    def race(attempt: int) -> None:
        if attempt == 1:
            _push_other(remote, tmp_path / "other", "envs/prod/notes.txt", "hi\n")

    digest = world.versions["v2"]
    result = deploy_gitops(world.home, world.deployer(), digest, DIRECT, _target(remote), race)
    assert (result.attempts, result.changed) == (2, True)
    log = subprocess.run(
        ["git", "-C", str(remote), "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert log[0].startswith(f"deploy staging: {digest}")
    assert log[1] == "edit envs/prod/notes.txt"


def test_persistent_rejection_fails_with_the_reason(world: World, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    _publish(world, remote, "v1")
    attempts: list[int] = []

    def race(attempt: int) -> None:
        attempts.append(attempt)
        _push_other(remote, tmp_path / "other", "notes.txt", f"{attempt}\n")

    digest = world.versions["v2"]
    with pytest.raises(GitOpsError) as caught:
        deploy_gitops(world.home, world.deployer(), digest, DIRECT, _target(remote), race)
    assert attempts == [1, 2]
    assert "rejected after one retry" in caught.value.message
    assert "fetch first" in caught.value.message


def test_other_rejection_is_not_retried(world: World, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch main is frozen' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    attempts: list[int] = []
    digest = world.versions["v1"]
    with pytest.raises(GitOpsError) as caught:
        deploy_gitops(
            world.home, world.deployer(), digest, DIRECT, _target(remote), attempts.append
        )
    assert attempts == [1]
    assert "branch main is frozen" in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        b"not json",
        b'{"environment": "staging"}',
        b'{"environment": "staging", "digest": "sha256:00", "artifact": "a", "strategy": "direct",'
        b' "steps": [100], "verification": {}}',
        b'{"environment": "staging", "digest": "sha256:' + b"0" * 64 + b'", "artifact": "a",'
        b' "strategy": "yolo", "steps": [100], "verification": {}}',
    ],
)
def test_malformed_manifest_is_refused(text: bytes) -> None:
    with pytest.raises(GitOpsRefusedError) as caught:
        Manifest.from_bytes(text)
    assert caught.value.reason == "bad-manifest"
