"""An approved job whose held secrets cannot be handed over is blocked, whatever the hand-over
raised (issue 14 review): an unexpected error used to end the gate's thread with the job never
finished, so its run waited forever, and the job must not run without what it was approved for.
"""

from __future__ import annotations

import queue
import threading

from bastion.engine import ApprovalDecision, ApprovalRequest
from bastion.engine.approval_gate import gated_executor
from bastion.errors import BastionError
from bastion.executors.interface import JobEvent, JobEventKind, JobState
from tests.engine.test_approval_gate import CONTEXT, Recorder, _spec


def _approve(request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
    return ApprovalDecision(True, "approved by bob and carol")


def _run_with_hand_over(failure: Exception) -> tuple[Recorder, JobEvent]:
    def hand_over(job: str) -> None:
        raise failure

    inner = Recorder()
    executor = gated_executor(inner, _approve, {"deploy": "production"}, CONTEXT, hand_over)
    events: queue.Queue[JobEvent] = queue.Queue()
    executor.submit(_spec("deploy"), events.put)
    return inner, events.get(timeout=5)  # queue.Empty here: the job never finished


def test_an_unexpected_hand_over_failure_blocks_the_job() -> None:
    inner, event = _run_with_hand_over(OSError(28, "No space left on device"))
    assert inner.submitted == []
    assert event.kind is JobEventKind.FINISHED
    assert event.outcome is not None
    assert event.outcome.status is JobState.BLOCKED
    assert event.outcome.reason == "approved, but not handed over (see the server's log)"


def test_a_hand_over_that_cannot_be_audited_blocks_the_job() -> None:
    inner, event = _run_with_hand_over(BastionError("the audit log cannot be written"))
    assert inner.submitted == []
    assert event.outcome is not None
    assert event.outcome.status is JobState.BLOCKED
    assert event.outcome.reason == (
        "approved, but not handed over: the audit log cannot be written"
    )
