"""The run state machine: schedule a DAG of jobs on an executor and decide the run's outcome.

One coordinating thread owns all state; executor threads only put events into a queue, so
there are no locks around job states and observers see events in a consistent order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bastion.engine.events import (
    CachePoisoned,
    Event,
    JobChanged,
    JobOutput,
    Observer,
    RunFinished,
    RunStarted,
    StepChanged,
)
from bastion.engine.gate_priority import YIELDING_NICE, yielding_gate_jobs
from bastion.engine.model import (
    GateEvaluator,
    GateVerdict,
    JobState,
    RunContext,
    RunId,
    RunResult,
    RunState,
)
from bastion.executors.interface import (
    Executor,
    JobEvent,
    JobEventKind,
    JobHandle,
    JobOutcome,
    JobSpec,
)
from bastion.pipeline import Plan

__all__ = ["Scheduler", "SchedulerConfig"]

SpecBuilder = Callable[[str], JobSpec]
AfterJob = Callable[[str, JobOutcome, Mapping[str, GateVerdict]], JobOutcome]
"""Called when a job passed, before any job that needs it starts (attests its artifacts);
returns the outcome to record, an error one when that work failed."""


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """How the run behaves on failure, which jobs are gates, and how long each gate takes.

    ``gate_cpu`` (gate name -> CPU seconds of its last run over the tree, from
    :class:`~bastion.engine.gate_priority.GateCpuHistory`) lets gate jobs that may run at
    the same time yield the CPU to the one expected to take longest, as ``bastion scan``
    does; without a figure for every gate, every job keeps the same priority.

    ``announce_finish`` False leaves :class:`RunFinished` to the caller, whose run is not
    finished when its jobs are (a local run attests and checkpoints first).

    ``independent_gates`` (the built-in default pipeline): a gate job that blocks cancels no
    other job, even with ``fail_fast``; only the jobs that need it are skipped, so every
    gate finishes and reports its verdict (issue 23).

    ``refused`` (job name -> reason) are jobs refused before the run starts (an untrusted
    run's jobs that asked for secrets, :mod:`~bastion.engine.withheld_jobs`): each is
    blocked with its reason and never submitted, the jobs that need it are skipped, and
    nothing else is cancelled, whatever ``fail_fast`` says: a pipeline's request for a
    secret must not skip the gates.
    """

    fail_fast: bool = True
    independent_gates: bool = False
    pipeline_source: str = "<pipeline>"
    pipeline_digest: str = ""
    gates: dict[str, str] = field(default_factory=dict)  # job name -> gate name
    gate_cpu: Mapping[str, float] = field(default_factory=dict)
    announce_finish: bool = True
    refused: Mapping[str, str] = field(default_factory=dict)


class Scheduler:
    """Runs one plan to completion."""

    def __init__(
        self,
        *,
        run_id: RunId,
        plan: Plan,
        context: RunContext,
        executor: Executor,
        build_spec: SpecBuilder,
        gate_evaluator: GateEvaluator | None,
        observers: Sequence[Observer],
        config: SchedulerConfig,
        cancel: threading.Event | None = None,
        after_job: AfterJob | None = None,
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self.context = context
        self.executor = executor
        self.build_spec = build_spec
        self.gate_evaluator = gate_evaluator
        self.observers = list(observers)
        self.config = config
        self.cancel = cancel or threading.Event()
        self.after_job = after_job
        self.states: dict[str, JobState] = dict.fromkeys(plan.order, JobState.QUEUED)
        self.reasons: dict[str, str] = {}
        self.verdicts: dict[str, GateVerdict] = {}
        self.artifacts: dict[str, tuple[str, ...]] = {}
        self._handles: dict[str, JobHandle] = {}
        self._inbox: queue.Queue[JobEvent] = queue.Queue()
        self._cancelled_run = False
        self._yielding = yielding_gate_jobs(
            {name: config.gates[name] for name in plan.order if name in config.gates},
            config.gate_cpu,
            lambda a, b: a in plan.downstream(b) or b in plan.downstream(a),
        )

    def _emit(self, event: Event) -> None:
        for observer in self.observers:
            observer(event)

    def _set(
        self,
        job: str,
        state: JobState,
        reason: str | None = None,
        *,
        at: float = 0.0,
        **extra: object,
    ) -> None:
        self.states[job] = state
        if reason:
            self.reasons[job] = reason
        verdict = extra.get("verdict")
        artifacts = extra.get("artifacts", ())
        self._emit(
            JobChanged(
                self.run_id,
                job,
                state,
                at or time.time(),
                reason,
                verdict if isinstance(verdict, GateVerdict) else None,
                tuple(artifacts) if isinstance(artifacts, tuple) else (),
            )
        )

    def execute(self) -> RunResult:
        """Run every job; returns when all are final."""
        self._emit(
            RunStarted(
                self.run_id,
                self.context,
                self.config.pipeline_source,
                self.config.pipeline_digest,
                self.plan.order,
                {name: self.plan.needs(name) for name in self.plan.order},
                {
                    name: ("gate" if name in self.config.gates else "steps")
                    for name in self.plan.order
                },
                time.time(),
            )
        )
        try:
            self._refuse_upfront()
            self._submit_ready()
            while self._handles:
                self._pump()
        finally:
            for handle in self._handles.values():
                handle.cancel()
        state = self._run_state()
        if self.config.announce_finish:
            self._emit(RunFinished(self.run_id, state, time.time(), dict(self.reasons)))
        return RunResult(
            self.run_id,
            state,
            dict(self.states),
            dict(self.reasons),
            dict(self.verdicts),
            dict(self.artifacts),
        )

    def _refuse_upfront(self) -> None:
        """Block each refused job and skip what needs it; nothing else is touched."""
        for job in self.plan.order:
            reason = self.config.refused.get(job)
            if reason is None or self.states[job] is not JobState.QUEUED:
                continue  # not refused, or already skipped as needing a refused job
            self._set(job, JobState.BLOCKED, reason)
            for name in sorted(self.plan.downstream(job)):
                if self.states[name] is JobState.QUEUED:
                    self._set(name, JobState.SKIPPED, f"needs '{job}', which was refused")

    def _pump(self) -> None:
        try:
            event = self._inbox.get(timeout=0.1)
        except queue.Empty:
            if self.cancel.is_set() and not self._cancelled_run:
                self._cancel_all("run cancelled")
            return
        self._handle(event)

    def _submit_ready(self) -> None:
        if self.cancel.is_set():
            return
        for name in self.plan.order:
            if self.states[name] is not JobState.QUEUED or name in self._handles:
                continue
            needs = self.plan.needs(name)
            if all(self.states[n] is JobState.PASSED for n in needs):
                self._handles[name] = self.executor.submit(self._spec(name), self._inbox.put)

    def _spec(self, name: str) -> JobSpec:
        """The job's spec, made to yield the CPU when a longer gate job may run beside it."""
        spec = self.build_spec(name)
        if name in self._yielding:
            spec = replace(spec, nice=max(spec.nice, YIELDING_NICE))
        return spec

    def _handle(self, event: JobEvent) -> None:
        job = event.job
        if event.kind is JobEventKind.STARTED:
            # When the job started, not when this thread got to it: preparing another job's
            # spec on the host (a first-use tool warm-up, say) can keep it busy for seconds.
            self._set(job, JobState.RUNNING, at=event.at)
        elif event.kind is JobEventKind.STEP_STARTED:
            self._emit(
                StepChanged(
                    self.run_id,
                    job,
                    event.step_index or 0,
                    event.step_name or "",
                    JobState.RUNNING,
                    event.at,
                )
            )
        elif event.kind is JobEventKind.OUTPUT:
            self._emit(JobOutput(self.run_id, job, event.data))
        elif event.kind is JobEventKind.STEP_FINISHED:
            state = JobState.PASSED if event.exit_code == 0 else JobState.FAILED
            self._emit(
                StepChanged(
                    self.run_id,
                    job,
                    event.step_index or 0,
                    event.step_name or "",
                    state,
                    event.at,
                    event.exit_code,
                )
            )
        elif event.kind is JobEventKind.CACHE_POISONED:
            self._emit(CachePoisoned(self.run_id, job, dict(event.details), event.at))
        elif event.kind is JobEventKind.FINISHED and event.outcome is not None:
            self._handles.pop(job, None)
            self._finish(job, event.outcome)

    def _finish(self, job: str, outcome: JobOutcome) -> None:
        state = outcome.status
        verdict: GateVerdict | None = None
        gate = self.config.gates.get(job)
        if gate is not None and state in (JobState.PASSED, JobState.FAILED):
            # A gate that failed or timed out is judged too: the verdict blocks and says why.
            verdict = self._evaluate(job, gate, outcome)
            if state is JobState.FAILED and verdict.passed:
                verdict = replace(verdict, passed=False, reasons=(outcome.reason or "gate failed",))
            state = JobState.PASSED if verdict.passed else JobState.BLOCKED
            if not verdict.passed:
                why = "; ".join(verdict.reasons[:3]) or "blocked"
                if outcome.reason and outcome.reason not in why:
                    why = f"{outcome.reason}: {why}"
                outcome = JobOutcome(JobState.BLOCKED, why, artifacts=outcome.artifacts)
        if state is JobState.CANCELLED and self.states[job] is JobState.CANCELLED:
            return
        if state is JobState.PASSED and self.after_job is not None:
            # Here, not after the run: a job that needs this one may verify what it made.
            outcome = self.after_job(job, outcome, dict(self.verdicts))
            state = outcome.status
        self.artifacts[job] = outcome.artifacts
        self._set(job, state, outcome.reason, verdict=verdict, artifacts=outcome.artifacts)
        if verdict is not None:
            self.verdicts[job] = verdict
        if state is JobState.PASSED:
            self._submit_ready()
        elif state is not JobState.CANCELLED:
            if self.config.fail_fast and not self._gate_stands_alone(job):
                self._cancel_all(f"cancelled: job '{job}' {state.value} (fail-fast)")
            else:
                for name in sorted(self.plan.downstream(job)):
                    if self.states[name] is JobState.QUEUED:
                        self._set(name, JobState.SKIPPED, f"needs '{job}', which {state.value}")

    def _gate_stands_alone(self, job: str) -> bool:
        """Whether ``job`` is a gate whose block stops only the jobs that need it."""
        return self.config.independent_gates and job in self.config.gates

    def _evaluate(self, job: str, gate: str, outcome: JobOutcome) -> GateVerdict:
        if self.gate_evaluator is None:
            return GateVerdict(False, (f"no policy engine to judge gate '{gate}'",))
        report = outcome.collected.get(self.gate_evaluator.report_path(gate))
        return self.gate_evaluator.evaluate(job, gate, report, self.context)

    def _cancel_all(self, reason: str) -> None:
        if self.cancel.is_set():
            self._cancelled_run = True
        for name in self.plan.order:
            if self.states[name] is JobState.QUEUED and name not in self._handles:
                self._set(
                    name,
                    JobState.SKIPPED if not self._cancelled_run else JobState.CANCELLED,
                    reason,
                )
        for name, handle in list(self._handles.items()):
            handle.cancel()
            if self.states[name] in (JobState.QUEUED, JobState.RUNNING):
                self._set(name, JobState.CANCELLED, reason)

    def _run_state(self) -> RunState:
        if self._cancelled_run:
            return RunState.CANCELLED
        finals = set(self.states.values())
        for state, run_state in (
            (JobState.ERROR, RunState.ERROR),
            (JobState.FAILED, RunState.FAILED),
            (JobState.BLOCKED, RunState.BLOCKED),
        ):
            if state in finals:
                return run_state
        return RunState.PASSED
