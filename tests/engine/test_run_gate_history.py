"""A pipeline's secrets gate in history mode sees secrets deleted in later commits.

The workspace has no ``.git``; the engine prepares the history on the host and injects it.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from bastion.scanners.secrets.samples import render
from tests.support import BASTION, git

pytestmark = pytest.mark.integration


def _repo(tmp_path: Path, mode: str) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion/pipeline.yml").write_text(
        f"jobs:\n  secrets:\n    uses: bastion/secrets\n    with: {{mode: {mode}}}\n"
    )
    git(repo, "init", "-q", "-b", "main")
    token = render("<<gh:ghp_>>", random.Random(7))
    (repo / "deploy.sh").write_text(f"export GITHUB_TOKEN={token}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add deploy script")
    (repo / "deploy.sh").unlink()
    (repo / "README").write_text("clean now\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "remove the script")
    return repo, token


def _run(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASTION, "run", "-C", str(repo), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_history_mode_blocks_on_a_deleted_secret(tmp_path: Path) -> None:
    repo, token = _repo(tmp_path, "history")
    done = _run(repo)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    job = result["jobs"]["secrets"]
    assert job["state"] == "blocked"
    # blocked by the finding itself, not because the gate could not read the history
    assert job["verdict"]["summary"]["findings"] == 1
    assert not any("could not decide" in reason for reason in job["verdict"]["reasons"])
    assert token not in done.stdout + done.stderr
    logs = subprocess.run(
        [BASTION, "logs", str(result["run_id"]), "-C", str(repo)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert token not in logs.stdout


def test_tree_mode_passes_when_the_secret_is_gone(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path, "tree")
    done = _run(repo)
    assert done.returncode == 0, done.stderr
