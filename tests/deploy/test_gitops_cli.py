"""``bastion deploy --target gitops`` and ``bastion gitops sync`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support import git, home_env, run_bastion

from .conftest import World
from .test_deploy_cli import _configure


def test_publish_sync_no_op_and_unsigned_refusal(world: World, tmp_path: Path) -> None:
    _configure(world, "staging")
    env = home_env(world.home)
    remote = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    v1 = world.versions["v1"]
    args = ("--env", "staging", "--target", "gitops", "--repo", str(remote))
    done = run_bastion("deploy", v1, *args, "--strategy", "direct", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] is True
    assert world.state().running() is None  # publishing changes nothing locally

    sync = ("gitops", "sync", "--repo", str(remote), "--env", "staging", "--json")
    first = run_bastion(*sync, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["outcome"] == "deployed"
    second = run_bastion(*sync, env=env)
    assert json.loads(second.stdout)["outcome"] == "in-sync"

    work = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    (work / "envs" / "staging" / "app.yaml").write_text("{}\n", encoding="utf-8")
    git(work, "commit", "-q", "-am", "unsigned edit")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    refused = run_bastion(*sync, env=env)
    assert refused.returncode == 1
    assert "untrusted-commit" in refused.stderr


def test_gitops_target_needs_a_repository(world: World) -> None:
    _configure(world, "staging")
    args = ("deploy", world.versions["v1"], "--env", "staging", "--target", "gitops")
    done = run_bastion(*args, env=home_env(world.home))
    assert done.returncode == 2
    assert "--repo" in done.stderr
