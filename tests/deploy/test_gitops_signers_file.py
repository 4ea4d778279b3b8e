"""GitOps sync trusts only an allowed-signers file nobody else controls (issue 18 review):
whoever may change it may add their own key and have their commits deploy, so a symbolic link
(here to a stranger's file trusting the stranger's key), a file others may write, or one owned
by another user refuses the sync before anything is fetched or deployed, naming the fix."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bastion.deploy import GitOpsKey, default_manifest_path, sync
from bastion.errors import UsageError

from .conftest import World


def _sync_with(world: World, tmp_path: Path, signers: Path) -> None:
    remote = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    path = default_manifest_path("staging")
    sync(str(remote), "main", path, world.deployer(), signers, world.sink)


def test_a_symlinked_signers_file_refuses_the_sync(world: World, tmp_path: Path) -> None:
    stranger = GitOpsKey.of(tmp_path / "stranger").ensure()
    link = tmp_path / "allowed_signers"
    link.symlink_to(stranger.allowed_signers)
    with pytest.raises(UsageError, match="is a symbolic link") as refused:
        _sync_with(world, tmp_path, link)
    assert refused.value.hint == "replace the link with the file itself"
    assert world.state().running() is None


def test_a_signers_file_others_may_write_refuses_the_sync(world: World, tmp_path: Path) -> None:
    signers = GitOpsKey.of(world.home).ensure().allowed_signers
    signers.chmod(0o666)
    with pytest.raises(UsageError, match="may be written by others") as refused:
        _sync_with(world, tmp_path, signers)
    assert refused.value.hint == f"chmod go-w {signers}"
    assert world.state().running() is None


def test_a_signers_file_of_another_user_refuses_the_sync(world: World, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test gives the file to another user: it needs root (the CI runs as root)")
    signers = GitOpsKey.of(world.home).ensure().allowed_signers
    signers.chmod(0o644)
    os.chown(signers, 65534, 65534)
    with pytest.raises(UsageError, match=r"is owned by another user \(uid 65534\)"):
        _sync_with(world, tmp_path, signers)


def test_no_signers_file_still_refuses(world: World, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no allowed signers"):
        _sync_with(world, tmp_path, tmp_path / "missing")
