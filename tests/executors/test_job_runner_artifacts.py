"""A job's artifacts are regular files: a FIFO or socket it leaves is a job error, never a hang."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bastion.executors import JobOutcome, JobSpec, StepSpec, WorkspaceSource
from bastion.executors.job_runner import run_job
from bastion.sandbox import BubblewrapSandbox

pytestmark = pytest.mark.integration


def _run(tmp_path: Path, script: str) -> JobOutcome:
    (tmp_path / "project").mkdir()
    (tmp_path / "scratch").mkdir()
    spec = JobSpec(
        run_id=1,
        job="build",
        steps=(StepSpec("make", ("/bin/sh", "-e", "-c", script), timeout_seconds=60),),
        source=WorkspaceSource(str(tmp_path / "project")),
        artifacts=("dist/*",),
        artifact_dir=str(tmp_path / "out"),
    )
    return run_job(
        spec,
        sandbox=BubblewrapSandbox(),
        workspace_parent=tmp_path / "scratch",
        on_event=lambda _event: None,
        cancelled=threading.Event(),
    )


def test_a_fifo_artifact_is_a_job_error(tmp_path: Path) -> None:
    # In a thread: opening the FIFO without O_NONBLOCK would wait for a writer forever.
    outcomes: list[JobOutcome] = []
    worker = threading.Thread(
        target=lambda: outcomes.append(_run(tmp_path, "mkdir dist && mkfifo dist/app.bin")),
        daemon=True,
    )
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "collecting a FIFO artifact hung"
    (outcome,) = outcomes
    assert outcome.status == "error"
    assert "dist/app.bin" in (outcome.reason or "")
    assert "not a regular file" in (outcome.reason or "")


def test_a_socket_artifact_is_a_job_error(tmp_path: Path) -> None:
    script = (
        'mkdir dist && python3 -c "import socket; '
        "socket.socket(socket.AF_UNIX).bind('dist/app.sock')\""
    )
    outcome = _run(tmp_path, script)
    assert outcome.status == "error"
    assert "dist/app.sock" in (outcome.reason or "")
