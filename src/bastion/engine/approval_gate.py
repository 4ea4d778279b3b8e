"""Approval gates: a job with ``environment:`` starts only when the environment allows it.

The engine defines the protocol; the server implements it (four-eyes approvals with TOTP,
``bastion.server.approval_gate``). :func:`gated_executor` wraps the run's executor: a job
that names an environment is held on a thread of its own while the gate decides, then
handed to the real executor, or finished as blocked without ever starting. Without a gate
(a local ``bastion run``) such a job is blocked: fails closed. Only once approved is
``on_approved(job)`` called (the run hands over the job's held secrets and token, see
:meth:`~bastion.engine.job_resources.JobResources.hold`); if it fails, the job is blocked.

    >>> executor = gated_executor(inner, gate, {"deploy": "production"}, context)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bastion.errors import BastionError
from bastion.executors.interface import (
    Executor,
    JobEvent,
    JobEventKind,
    JobHandle,
    JobOutcome,
    JobSpec,
    JobState,
)
from bastion.trust import RunContext

__all__ = [
    "ApprovalDecision",
    "ApprovalGate",
    "ApprovalRequest",
    "GatedExecutor",
    "gated_executor",
]

logger = logging.getLogger("bastion.engine")
JobEventSink = Callable[[JobEvent], None]
NO_GATE = "environment {env!r} needs approval on a Bastion server; this run has no approval gate"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What a job asks to ship: its run, job, environment and the artifacts it received
    (workspace path, ``sha256:`` digest) from the jobs it needs."""

    run_id: int
    job: str
    environment: str
    context: RunContext
    artifacts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """The gate's answer: go ahead, or not and why (shown as the job's reason)."""

    approved: bool
    reason: str


class ApprovalGate(Protocol):
    """Decides whether a job may start; may wait (hours) but returns when ``cancel`` is set."""

    def __call__(self, request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        """Wait for the decision; an approval refused, rejected or timed out is not approved."""
        ...


class _HeldJob:
    """A job waiting for its gate; then the real executor's handle."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.inner: JobHandle | None = None
        self.outcome: JobOutcome | None = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled.set()
            inner = self.inner
        if inner is not None:
            inner.cancel()

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        if not self.done.wait(timeout):
            return None
        inner = self.inner
        return inner.wait(timeout) if inner is not None else self.outcome

    def start(self, executor: Executor, spec: JobSpec, sink: JobEventSink) -> bool:
        """Hand the job to ``executor`` unless it was cancelled meanwhile."""
        with self._lock:
            if self.cancelled.is_set():
                return False
            self.inner = executor.submit(spec, sink)
        return True


class GatedExecutor:
    """An executor whose jobs with an environment wait for ``gate`` first."""

    def __init__(
        self,
        inner: Executor,
        gate: ApprovalGate | None,
        environments: Mapping[str, str],
        context: RunContext,
        on_approved: Callable[[str], None] | None = None,
    ) -> None:
        self.inner, self.gate, self.context = inner, gate, context
        self.environments = dict(environments)
        self.on_approved = on_approved
        self.name = inner.name

    def submit(self, spec: JobSpec, on_event: JobEventSink) -> JobHandle:
        environment = self.environments.get(spec.job)
        if environment is None:
            return self.inner.submit(spec, on_event)
        held = _HeldJob()
        request = ApprovalRequest(
            spec.run_id,
            spec.job,
            environment,
            self.context,
            tuple((a.path, a.digest) for a in spec.receive),
        )
        threading.Thread(
            target=self._hold,
            args=(held, request, spec, on_event),
            name=f"bastion-approval-{spec.job}",
            daemon=True,
        ).start()
        return held

    def shutdown(self) -> None:
        self.inner.shutdown()

    def _hold(
        self, held: _HeldJob, request: ApprovalRequest, spec: JobSpec, sink: JobEventSink
    ) -> None:
        decision = self._decide(request, held.cancelled)
        if decision.approved and self.on_approved is not None:
            try:
                self.on_approved(spec.job)
            except BastionError as exc:
                decision = ApprovalDecision(False, f"approved, but not handed over: {exc.message}")
            except Exception:
                # Any other failure still blocks the job: escaping here would end this
                # thread with the job never finished, and the run waiting for it forever.
                logger.exception("hand-over failed for %s/%s", spec.run_id, spec.job)
                decision = ApprovalDecision(
                    False, "approved, but not handed over (see the server's log)"
                )
        if decision.approved and held.start(self.inner, spec, sink):
            held.done.set()
            return
        state = JobState.CANCELLED if held.cancelled.is_set() else JobState.BLOCKED
        reason = "cancelled while waiting for approval" if state is JobState.CANCELLED else None
        held.outcome = JobOutcome(state, reason or decision.reason)
        held.done.set()
        sink(JobEvent(JobEventKind.FINISHED, spec.job, outcome=held.outcome, at=time.time()))

    def _decide(self, request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        """The gate's decision; no gate, or a gate that fails, is a refusal (fails closed)."""
        if self.gate is None:
            return ApprovalDecision(False, NO_GATE.format(env=request.environment))
        try:
            return self.gate(request, cancel)
        except BastionError as exc:
            return ApprovalDecision(False, f"approval gate failed: {exc.message}")
        except Exception:
            logger.exception("approval gate failed for %s/%s", request.run_id, request.job)
            return ApprovalDecision(False, "approval gate failed (see the server's log)")


def gated_executor(
    inner: Executor,
    gate: ApprovalGate | None,
    environments: Mapping[str, str],
    context: RunContext,
    on_approved: Callable[[str], None] | None = None,
) -> Executor:
    """``inner`` itself when no job names an environment, else a :class:`GatedExecutor`."""
    if not environments:
        return inner
    return GatedExecutor(inner, gate, environments, context, on_approved)
