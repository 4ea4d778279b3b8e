"""`bastion run`, `runs`, `logs` and `schema` end to end, as a user types them (exit codes)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import BASTION, git, run_bastion

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-service"


def bastion(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_bastion(*args, cwd=cwd, env=dict(env or os.environ))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example as its own committed git repository, with the demo's publish
    token in the vault (as `make demo` stores it; one scope for every copy, so parallel
    tests never replace each other's)."""
    repo = tmp_path / "svc"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state", "__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    script = repo / ".bastion" / "demo_secret.py"
    subprocess.run(
        [sys.executable, str(script), "--repo", "*/svc"], check=True, capture_output=True
    )
    return repo


def test_example_pipeline_passes_and_is_recorded(project: Path) -> None:
    done = bastion("run", "-C", str(project), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "passed"
    assert result["jobs"]["build"]["artifacts"] == ["dist/inventory-service.pyz"]
    assert "trust local" in done.stderr
    listed = json.loads(bastion("runs", "list", "-C", str(project), "--json").stdout)
    assert listed[0]["status"] == "passed"
    shown = json.loads(
        bastion("runs", "show", str(listed[0]["id"]), "-C", str(project), "--json").stdout
    )
    assert [j["name"] for j in shown["jobs"]] == [
        "secrets",
        "sast",
        "sca",
        "iac",
        "test",
        "build",
        "publish",
    ]
    assert shown["jobs"][-1]["steps"][0]["exit_code"] == 0
    assert result["attestations"][0]["name"] == "inventory-service.pyz"
    log = bastion("logs", str(listed[0]["id"]), "test", "-C", str(project))
    assert "Ran 6 tests" in log.stdout
    assert "OK" in log.stdout
    # network: none, so no egress proxy and no egress record
    logs = project / ".bastion" / "state" / "logs" / str(listed[0]["id"])
    assert not (logs / "test.egress.jsonl").exists()
    published = bastion("logs", str(listed[0]["id"]), "publish", "-C", str(project))
    assert "authenticated with PUBLISH_TOKEN" in published.stdout
    # the state directory keeps itself out of git
    status = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""


def test_failing_job_exits_1_and_dirty_tree_is_marked(project: Path) -> None:
    (project / "tests" / "test_broken.py").write_text(
        "import unittest\n\n\nclass T(unittest.TestCase):\n"
        "    def test_x(self):\n        self.fail('no')\n"
    )
    done = bastion("run", "-C", str(project), "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["jobs"]["test"]["state"] == "failed"
    assert result["jobs"]["build"]["state"] == "skipped"
    assert "trust dirty" in done.stderr


def test_commit_option_builds_the_committed_tree(project: Path) -> None:
    (project / "tests" / "test_broken.py").write_text("raise SystemExit(1)\n")
    done = bastion("run", "-C", str(project), "--commit", "HEAD", "--json")
    assert done.returncode == 0, done.stderr
    assert bastion("run", "-C", str(project), "--commit", "nope").returncode == 2


def test_bad_pipeline_exits_2_with_location(project: Path) -> None:
    (project / ".bastion/pipeline.yml").write_text("jobs:\n  test:\n    stepz: []\n")
    done = bastion("run", "-C", str(project))
    assert done.returncode == 2
    assert ".bastion/pipeline.yml:3:5: unknown key 'stepz'" in done.stderr
    assert "did you mean 'steps'" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_bubblewrap_exits_3_with_install_command(project: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh"):
        found = shutil.which(tool)
        assert found is not None
        os.symlink(found, bin_dir / tool)
    done = bastion("run", "-C", str(project), env={**os.environ, "PATH": str(bin_dir)})
    assert done.returncode == 3
    assert "apt-get install -y bubblewrap" in done.stderr


def test_unsafe_no_sandbox_is_loud(project: Path) -> None:
    done = bastion("run", "-C", str(project), "--unsafe-no-sandbox", "--job", "test")
    assert done.returncode == 0, done.stderr
    assert "WITHOUT isolation" in done.stderr


def test_unknown_job_and_run_are_usage_errors(project: Path) -> None:
    assert bastion("run", "-C", str(project), "--job", "nope").returncode == 2
    assert bastion("runs", "show", "999", "-C", str(project)).returncode == 2


def test_schema_is_json() -> None:
    done = bastion("schema")
    assert done.returncode == 0
    assert json.loads(done.stdout)["title"].startswith("Bastion pipeline")


def test_ctrl_c_cancels_and_cleans_every_sandbox(tmp_path: Path) -> None:
    repo = tmp_path / "slow"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion/pipeline.yml").write_text(
        "jobs:\n  a: {steps: [{run: 'sleep 60'}]}\n  b: {steps: [{run: 'sleep 60'}]}\n"
        "  c: {needs: [a], steps: [{run: 'true'}]}\n"
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        [BASTION, "run", "-C", str(repo), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(scratch.glob("bastion-run-*/*")):
        time.sleep(0.1)  # wait until the jobs' workspaces exist
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    result = json.loads(stdout)
    assert result["state"] == "cancelled"
    assert set(j["state"] for j in result["jobs"].values()) == {"cancelled"}
    assert list(scratch.iterdir()) == []


def test_vulnerable_example_is_blocked_by_every_gate(tmp_path: Path) -> None:
    source = EXAMPLE.parent / "vulnerable-service"
    repo = tmp_path / "vulnerable"
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("state", "__pycache__"))
    done = bastion("run", "-C", str(repo), "--no-fail-fast", "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "blocked"
    for gate in ("secrets", "sast", "sca", "iac"):
        job = result["jobs"][gate]
        assert job["state"] == "blocked", (gate, job)
        assert job["verdict"]["summary"]["findings"] > 0
        assert not any("could not decide" in r for r in job["verdict"]["reasons"])
    assert result["jobs"]["test"]["state"] == "skipped"
    assert result["attestations"] == []
    assert "Traceback" not in done.stderr
    # the SCA gate says on screen which vulnerability data it judged against
    assert any(line.startswith("sca: ") and "OSV" in line for line in done.stderr.splitlines())


def test_a_killed_run_is_closed_and_its_sandboxes_removed(tmp_path: Path) -> None:
    repo = tmp_path / "killed"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion/pipeline.yml").write_text(
        "jobs:\n  slow: {steps: [{run: 'sleep 60'}]}\n  quick: {steps: [{run: 'true'}]}\n"
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        [BASTION, "run", "-C", str(repo)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(scratch.glob("bastion-run-*/*")):
        time.sleep(0.1)
    time.sleep(1.0)  # the quick job has finished and been recorded
    process.kill()  # SIGKILL: no cleanup code of Bastion runs
    process.wait(30)
    assert any(scratch.glob("bastion-run-*"))
    shown = subprocess.run(
        [BASTION, "runs", "show", "1", "-C", str(repo), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    run = json.loads(shown.stdout)
    assert run["status"] == "error"
    assert "interrupted" in run["reason"]
    states = {job["name"]: job["status"] for job in run["jobs"]}
    assert states == {"slow": "error", "quick": "passed"}
    assert not any(scratch.glob("bastion-run-*"))
    again = subprocess.run(
        [BASTION, "run", "-C", str(repo), "--job", "quick", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
