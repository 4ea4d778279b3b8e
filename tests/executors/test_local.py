"""Jobs on the local executor with the real bubblewrap sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bastion.executors import (
    JobEvent,
    JobEventKind,
    JobOutcome,
    JobSpec,
    LocalExecutor,
    StepSpec,
    WorkspaceSource,
)
from bastion.sandbox import BubblewrapSandbox

pytestmark = pytest.mark.integration


def _sh(name: str, script: str, timeout: float = 30) -> StepSpec:
    return StepSpec(name, ("/bin/sh", "-e", "-c", script), timeout_seconds=timeout)


def _spec(source: Path, *steps: StepSpec, **extra: object) -> JobSpec:
    return JobSpec(run_id=1, job="j", steps=steps, source=WorkspaceSource(str(source)), **extra)  # type: ignore[arg-type]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    source = tmp_path / "project"
    (source / ".bastion/state").mkdir(parents=True)
    (source / ".bastion/state/secret.db").write_text("state")
    (source / "app.txt").write_text("hello")
    return source


def _run(
    spec: JobSpec, scratch: Path, cancel_after: float | None = None
) -> tuple[JobOutcome, list[JobEvent]]:
    events: list[JobEvent] = []
    executor = LocalExecutor(BubblewrapSandbox(), scratch, max_parallel=2)
    try:
        handle = executor.submit(spec, events.append)
        if cancel_after is not None:
            time.sleep(cancel_after)
            handle.cancel()
        outcome = handle.wait(60)
    finally:
        executor.shutdown()
    assert outcome is not None
    return outcome, events


def _scratch(tmp_path: Path) -> Path:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return scratch


def test_steps_run_in_order_with_output_and_artifacts(project: Path, tmp_path: Path) -> None:
    scratch = _scratch(tmp_path)
    spec = _spec(
        project,
        _sh("one", "cat app.txt; mkdir dist; echo built > dist/app.bin; echo r > report.json"),
        _sh("two", "test ! -e .bastion/state/secret.db && echo no-state"),
        artifacts=("dist/*",),
        artifact_dir=str(tmp_path / "out"),
        collect=("report.json", "missing.json"),
    )
    outcome, events = _run(spec, scratch)
    assert outcome.status == "passed", outcome.reason
    output = b"".join(e.data for e in events if e.kind is JobEventKind.OUTPUT)
    assert b"hello" in output
    assert b"no-state" in output
    assert (tmp_path / "out/dist/app.bin").read_text() == "built\n"
    assert outcome.collected == {"report.json": b"r\n"}
    kinds = [e.kind for e in events if e.kind is not JobEventKind.OUTPUT]
    assert kinds[0] is JobEventKind.STARTED
    assert kinds[-1] is JobEventKind.FINISHED
    assert list(scratch.iterdir()) == []


def test_failing_step_stops_job_and_cleans_up(project: Path, tmp_path: Path) -> None:
    scratch = _scratch(tmp_path)
    spec = _spec(project, _sh("bad", "exit 7"), _sh("never", "echo never"))
    outcome, events = _run(spec, scratch)
    assert outcome.status == "failed"
    assert "exited with 7" in (outcome.reason or "")
    assert not any(e.step_name == "never" for e in events)
    assert list(scratch.iterdir()) == []


def test_timeout_fails_job_and_cleans_up(project: Path, tmp_path: Path) -> None:
    scratch = _scratch(tmp_path)
    spec = _spec(project, _sh("slow", "chmod -R a-w . ; sleep 30", timeout=1))
    started = time.monotonic()
    outcome, _ = _run(spec, scratch)
    assert time.monotonic() - started < 10
    assert "timed out after 1 s" in (outcome.reason or "")
    assert list(scratch.iterdir()) == []


def test_cancel_kills_and_cleans_up(project: Path, tmp_path: Path) -> None:
    scratch = _scratch(tmp_path)
    spec = _spec(project, _sh("slow", "sleep 30"))
    outcome, _ = _run(spec, scratch, cancel_after=0.5)
    assert outcome.status == "cancelled"
    assert list(scratch.iterdir()) == []


def test_symlinked_artifact_is_a_job_error(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("host only")
    scratch = _scratch(tmp_path)
    spec = _spec(
        project,
        _sh("link", f"mkdir dist; ln -s {secret} dist/leak"),
        artifacts=("dist/*",),
        artifact_dir=str(tmp_path / "out"),
    )
    outcome, _ = _run(spec, scratch)
    # Issue 22: a link among the artifacts is a job error naming it (it was skipped before).
    assert outcome.status == "error"
    assert "artifact dist/leak is, or goes through, a symbolic link" in (outcome.reason or "")
    assert outcome.artifacts == ()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_jobs_run_in_parallel(project: Path, tmp_path: Path) -> None:
    scratch = _scratch(tmp_path)
    executor = LocalExecutor(BubblewrapSandbox(), scratch, max_parallel=2)
    try:
        started = time.monotonic()
        handles = [
            executor.submit(
                JobSpec(
                    run_id=1,
                    job=f"j{i}",
                    steps=(_sh("s", "sleep 1"),),
                    source=WorkspaceSource(str(project)),
                ),
                lambda e: None,
            )
            for i in range(2)
        ]
        outcomes = [h.wait(30) for h in handles]
        elapsed = time.monotonic() - started
    finally:
        executor.shutdown()
    assert [o.status for o in outcomes if o] == ["passed", "passed"]
    assert elapsed < 1.9
