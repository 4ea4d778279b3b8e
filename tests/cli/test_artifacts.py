"""Build, then promote by digest: only what verifies reaches an environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import git, home_env, run_bastion

pytestmark = pytest.mark.integration

BUILDER = "https://bastion.dev/builders/local@v1"


def _run(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_bastion(*args, env=home_env(home), cwd=cwd)


def test_promote_only_after_verification(tmp_path: Path) -> None:
    home, repo = tmp_path / "home", tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion/pipeline.yml").write_text(
        "jobs:\n  secrets: {uses: bastion/secrets}\n  build:\n    needs: [secrets]\n"
        "    steps: [{run: 'mkdir -p dist && echo app > dist/app.txt'}]\n"
        "    artifacts: [dist/app.txt]\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
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
