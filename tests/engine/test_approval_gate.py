"""The engine's approval gate: a job with an environment never reaches the executor unless
its gate approves (no gate, a refusal, a failing gate, a cancel: blocked or cancelled)."""

from __future__ import annotations

import queue
import threading

from bastion.engine import ApprovalDecision, ApprovalRequest
from bastion.engine.approval_gate import gated_executor
from bastion.executors.interface import (
    JobEvent,
    JobEventKind,
    JobEventSink,
    JobHandle,
    JobOutcome,
    JobSpec,
    JobState,
    WorkspaceSource,
)
from bastion.trust import RunContext, Trust

CONTEXT = RunContext("acme/api", "c" * 40, "refs/heads/main", "push", Trust.TRUSTED)


class Recorder:
    """An executor that only records what it was given."""

    name = "recorder"

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, spec: JobSpec, on_event: JobEventSink) -> JobHandle:
        self.submitted.append(spec.job)
        return _Done()

    def shutdown(self) -> None:
        return None


class _Done:
    def cancel(self) -> None:
        return None

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        return JobOutcome(JobState.PASSED)


def _spec(job: str) -> JobSpec:
    return JobSpec(run_id=1, job=job, steps=(), source=WorkspaceSource(path="/nonexistent"))


def _finish(gate: object, job: str = "deploy") -> tuple[Recorder, JobEvent | None]:
    inner = Recorder()
    executor = gated_executor(inner, gate, {"deploy": "production"}, CONTEXT)  # type: ignore[arg-type]
    events: queue.Queue[JobEvent] = queue.Queue()
    handle = executor.submit(_spec(job), events.put)
    handle.wait(5)
    try:
        return inner, events.get(timeout=0.5)
    except queue.Empty:
        return inner, None


def test_without_a_gate_the_job_is_blocked() -> None:
    inner, event = _finish(None)
    assert inner.submitted == []
    assert event is not None
    assert event.outcome is not None
    assert event.kind is JobEventKind.FINISHED
    assert event.outcome.status is JobState.BLOCKED


def test_a_refusal_blocks_and_an_approval_runs_the_job() -> None:
    def refuse(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        return ApprovalDecision(False, "rejected by carol")

    def approve(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        return ApprovalDecision(True, "ok")

    inner, event = _finish(refuse)
    assert inner.submitted == []
    assert event is not None
    assert event.outcome is not None
    assert event.outcome.reason == "rejected by carol"
    inner, _ = _finish(approve)
    assert inner.submitted == ["deploy"]


def test_a_failing_gate_blocks() -> None:
    def broken(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        raise RuntimeError("boom")

    inner, event = _finish(broken)
    assert inner.submitted == []
    assert event is not None
    assert event.outcome is not None
    assert event.outcome.status is JobState.BLOCKED


def test_a_job_without_environment_is_not_held() -> None:
    inner, _ = _finish(None, job="build")
    assert inner.submitted == ["build"]
