"""Issue 18, end to end: each DAST example's own pipeline through ``bastion run``.

The real engine builds the zipapp in bubblewrap, attests it, hands it to the ``dast`` job
through ``needs:``, and the gate starts it in its own sandbox (no network but its private
loopback) and probes it. The planted-flaw service is blocked with exactly one finding per
probe class (each class has one planted flaw); its fixed twin passes, having been probed.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bastion.scanners.dast import RULES, ProbeClass
from tests.support import git, home_env, run_bastion

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _run_example(name: str, tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    """``bastion run`` on a committed copy of ``examples/NAME`` with a private home."""
    repo = tmp_path / name
    shutil.copytree(EXAMPLES / name, repo, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "example")
    env = home_env(tmp_path / "home")
    done = run_bastion("run", "-C", str(repo), "--json", "--offline", env=env)
    logs = run_bastion("logs", "1", "dast", "-C", str(repo), env=env)
    return done.returncode, json.loads(done.stdout), done.stderr + logs.stdout


def test_the_vulnerable_example_is_blocked_with_one_finding_per_flaw_class(
    tmp_path: Path,
) -> None:
    code, result, output = _run_example("vulnerable-webapp", tmp_path)
    assert code == 1, output
    assert result["state"] == "blocked"
    assert result["jobs"]["build"]["state"] == "passed", output
    dast = result["jobs"]["dast"]
    assert dast["state"] == "blocked", output
    items = dast["verdict"]["summary"]["items"]
    per_class = Counter(RULES[item["rule_id"]].probe_class for item in items)
    assert per_class == Counter(list(ProbeClass)), output
    assert "new critical or high finding(s)" in dast["reason"]


def test_the_fixed_example_passes_after_being_probed(tmp_path: Path) -> None:
    code, result, output = _run_example("webapp", tmp_path)
    assert code == 0, output
    assert result["state"] == "passed"
    dast = result["jobs"]["dast"]
    assert dast["state"] == "passed", output
    assert dast["verdict"]["summary"]["findings"] == 0
    # Passing means the zipapp the build job made reached this job and answered its health
    # URL: a missing artifact or a service that never became healthy fails the gate.
    assert "── verdict: passed ──" in output, output
