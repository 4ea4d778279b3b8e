"""`bastion run` refuses unsafe paths and bad matrices with exit 2 and file:line:column before
anything runs, and runs every expansion of a matrix job selected with `--job`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.support import git, home_env, run_bastion

pytestmark = pytest.mark.integration

MATRIX = """\
jobs:
  lint: {steps: [{run: "true"}]}
  test:
    needs: [lint]
    matrix: {python: ["3.11", "3.12"]}
    steps:
      - name: on ${{ matrix.python }}
        run: echo "value=${{ matrix.python }} env=$MATRIX_PYTHON job=$BASTION_JOB"
  other: {steps: [{run: "false"}]}
"""


def _project(tmp_path: Path, pipeline: str) -> Path:
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(pipeline)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    return repo


@pytest.mark.parametrize(
    ("job", "where", "message"),
    [
        ("    artifacts: [/etc/passwd]\n", "4:17", "is absolute"),
        ("    artifacts: [../../etc/passwd]\n", "4:17", "climbs out of the workspace"),
        ("    working-directory: ../..\n", "4:24", "climbs out of the workspace"),
        ("    tools: [/root]\n", "4:13", "contains /root"),
        ("    matrix: {py: []}\n", "4:18", "has no values"),
        ("    env: {A: '${{ matrix.py }}'}\n", "4:14", "this job has no `matrix:`"),
    ],
)
def test_unsafe_pipeline_exits_2_with_location(
    tmp_path: Path, job: str, where: str, message: str
) -> None:
    repo = _project(tmp_path, f"jobs:\n  t:\n    steps: [{{run: 'true'}}]\n{job}")
    done = run_bastion("run", "-C", str(repo), env=home_env(tmp_path / "home"))
    assert done.returncode == 2, done.stderr
    assert f".bastion/pipeline.yml:{where}: jobs.t." in done.stderr
    assert message in done.stderr
    assert "fix: " in done.stderr
    assert "Traceback" not in done.stderr


def test_job_option_runs_every_expansion_of_a_matrix_job(tmp_path: Path) -> None:
    repo = _project(tmp_path, MATRIX)
    env = home_env(tmp_path / "home")
    done = run_bastion("run", "-C", str(repo), "--job", "test", "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["jobs"]) == {"lint", "test (3.11)", "test (3.12)"}
    run_id = str(result["run_id"])
    log = run_bastion("logs", run_id, "test (3.12)", "-C", str(repo), env=env)
    assert "value=3.12 env=3.12 job=test (3.12)" in log.stdout
    logs = repo / ".bastion" / "state" / "logs" / run_id
    assert sorted(p.name for p in logs.glob("test*.log")) == sorted(
        [f"test-3.11-{_digest('test (3.11)')}.log", f"test-3.12-{_digest('test (3.12)')}.log"]
    )


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]
