"""Build, then promote by digest: only what verifies reaches an environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BASTION = str(Path(sys.executable).with_name("bastion"))
BUILDER = "https://bastion.dev/builders/local@v1"


def _run(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BASTION_HOME": str(home)}
    env.pop("BASTION_DATABASE_URL", None)
    return subprocess.run(
        [BASTION, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def test_promote_only_after_verification(tmp_path: Path) -> None:
    home, repo = tmp_path / "home", tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion/pipeline.yml").write_text(
        "jobs:\n  secrets: {uses: bastion/secrets}\n  build:\n    needs: [secrets]\n"
        "    steps: [{run: 'mkdir -p dist && echo app > dist/app.txt'}]\n"
        "    artifacts: [dist/app.txt]\n"
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    built = _run(home, "run", "--json", cwd=repo)
    assert built.returncode == 0, built.stderr
    assert "created the local signing key" in built.stderr
    [attested] = json.loads(built.stdout)["attestations"]
    digest = attested["digest"]
    assert attested["signed"] is True

    wrong = _run(
        home,
        "artifacts",
        "promote",
        digest,
        "--env",
        "prod",
        "--builder",
        "evil",
        "--repo",
        str(repo),
        "--allow-local",
        cwd=tmp_path,
    )
    assert wrong.returncode == 1
    assert "not promoted" in wrong.stderr
    local = _run(
        home,
        "artifacts",
        "promote",
        digest,
        "--env",
        "prod",
        "--builder",
        BUILDER,
        "--repo",
        str(repo),
        cwd=tmp_path,
    )
    assert local.returncode == 1  # a production policy refuses local builds by default
    assert _run(home, "artifacts", "tag", "app", digest, cwd=tmp_path).returncode == 0
    good = _run(
        home,
        "artifacts",
        "promote",
        "app",
        "--env",
        "prod",
        "--builder",
        BUILDER,
        "--repo",
        str(repo),
        "--allow-local",
        cwd=tmp_path,
    )
    assert good.returncode == 0, good.stderr
    history = _run(home, "artifacts", "history", "prod", "--json", cwd=tmp_path)
    assert [row["digest"] for row in json.loads(history.stdout)] == [digest]
    shown = json.loads(_run(home, "artifacts", "show", "app", "--json", cwd=tmp_path).stdout)
    assert shown["digest"] == digest
    assert shown["name"] == "app.txt"
    missing = _run(home, "artifacts", "show", "sha256:" + "0" * 64, cwd=tmp_path)
    assert missing.returncode == 2
