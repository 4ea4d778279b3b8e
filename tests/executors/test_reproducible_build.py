"""The example's zipapp, built twice from one commit through the real sandbox, is one digest.

"Minutes apart" cannot move the wall clock of a test; what a later build changes is every
time the build sees: the workspace's files are written anew (their mtimes are the clock's)
and the repository's files on disk are touched in between. The zip entries must then carry
the commit's time, which is fixed years in the past, so a build stamped with the clock
could never match, whatever second both builds fall in.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import yaml

from bastion.executors import JobSpec, StepSpec, WorkspaceSource
from bastion.executors.interface import JobEvent, JobOutcome
from bastion.executors.job_runner import run_job
from bastion.sandbox import BubblewrapSandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-service"
COMMIT_TIME = 981173106  # 2001-02-03T04:05:06Z


def _example_repo(root: Path) -> tuple[Path, str]:
    """A git repository holding the example, committed at ``COMMIT_TIME``."""
    repo = root / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state", "__pycache__"))
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": f"@{COMMIT_TIME} +0000",
        "GIT_COMMITTER_DATE": f"@{COMMIT_TIME} +0000",
    }
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "example"]):
        subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, env=env)
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return repo, sha


def _zipapp_step() -> str:
    pipeline = yaml.safe_load((EXAMPLE / ".bastion" / "pipeline.yml").read_text())
    step: str = pipeline["jobs"]["build"]["steps"][0]["run"]
    assert "python3 -m zipapp" in step
    return step


def _build(repo: Path, sha: str, out: Path) -> JobOutcome:
    out.mkdir()
    events: list[JobEvent] = []
    spec = JobSpec(
        run_id=1,
        job="build",
        steps=(
            StepSpec("build a zipapp", ("/bin/sh", "-e", "-c", _zipapp_step())),
            StepSpec("epoch", ("/bin/sh", "-e", "-c", 'printf %s "$SOURCE_DATE_EPOCH" > sde')),
        ),
        source=WorkspaceSource(str(repo), sha),
        artifacts=("dist/*.pyz",),
        artifact_dir=str(out / "artifacts"),
        collect=("sde",),
    )
    outcome = run_job(
        spec,
        sandbox=BubblewrapSandbox(),
        workspace_parent=out,
        on_event=events.append,
        cancelled=threading.Event(),
    )
    assert outcome.status == "passed", (outcome, [e.data for e in events])
    return outcome


def _touch_everything(repo: Path, when: float) -> None:
    for folder, _dirs, files in os.walk(repo):
        for name in files:
            os.utime(Path(folder, name), (when, when))


def test_same_commit_built_twice_gives_one_digest(tmp_path: Path) -> None:
    repo, sha = _example_repo(tmp_path)
    first = _build(repo, sha, tmp_path / "first")
    _touch_everything(repo, time.time() + 600)  # ten minutes on, as far as the files tell
    second = _build(repo, sha, tmp_path / "second")

    pyz = Path("artifacts", "dist", "inventory-service.pyz")
    digests = {
        hashlib.sha256((tmp_path / run / pyz).read_bytes()).hexdigest()
        for run in ("first", "second")
    }
    assert len(digests) == 1
    assert first.collected["sde"] == second.collected["sde"] == str(COMMIT_TIME).encode()
    with zipfile.ZipFile(tmp_path / "first" / pyz) as archive:
        stamps = {info.date_time for info in archive.infolist()}
        assert "__main__.py" in archive.namelist()
    # One stamp for every entry, the commit's (in 2001 whatever the machine's time zone).
    assert len(stamps) == 1
    assert next(iter(stamps))[0] == 2001
