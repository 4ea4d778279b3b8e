"""The run state machine over a fake executor (our own interface, no patching)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from bastion.engine.events import Event, JobChanged, RunFinished, RunStarted
from bastion.engine.model import (
    GateVerdict,
    JobState,
    RunContext,
    RunId,
    RunState,
    Trust,
)
from bastion.engine.scheduler import Scheduler, SchedulerConfig
from bastion.executors import (
    JobEvent,
    JobEventKind,
    JobOutcome,
    JobSpec,
    StepSpec,
    WorkspaceSource,
)
from bastion.executors.interface import JobEventSink
from bastion.pipeline import parse_pipeline, plan_pipeline

CONTEXT = RunContext("repo", "c0ffee", "refs/heads/main", "local", Trust.LOCAL)


class FakeHandle:
    def __init__(self, thread: threading.Thread, cancelled: threading.Event) -> None:
        self.thread = thread
        self.cancelled = cancelled

    def cancel(self) -> None:
        self.cancelled.set()

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        self.thread.join(timeout)
        return None


class FakeExecutor:
    """Each job sleeps ``durations[job]`` then ends with ``outcomes[job]`` (default passed)."""

    name = "fake"

    def __init__(self, outcomes: Mapping[str, str], durations: Mapping[str, float]) -> None:
        self.outcomes = outcomes
        self.durations = durations
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.lock = threading.Lock()

    def submit(self, spec: JobSpec, on_event: JobEventSink) -> FakeHandle:
        cancelled = threading.Event()

        def work() -> None:
            with self.lock:
                self.started[spec.job] = time.monotonic()
            on_event(JobEvent(JobEventKind.STARTED, spec.job, at=time.time()))
            on_event(JobEvent(JobEventKind.OUTPUT, spec.job, 0, data=b"hello\n"))
            ended = cancelled.wait(self.durations.get(spec.job, 0.01))
            status = "cancelled" if ended else self.outcomes.get(spec.job, "passed")
            with self.lock:
                self.finished[spec.job] = time.monotonic()
            collected = {"report.json": b"{}"} if status == "passed" else {}
            on_event(
                JobEvent(
                    JobEventKind.FINISHED,
                    spec.job,
                    outcome=JobOutcome(
                        JobState(status), None if status == "passed" else "boom", collected
                    ),
                )
            )

        thread = threading.Thread(target=work)
        thread.start()
        return FakeHandle(thread, cancelled)

    def shutdown(self) -> None:
        """Nothing to release."""


class BlockingGates:
    """Blocks the gates named in ``block``."""

    def __init__(self, block: set[str]) -> None:
        self.block = block
        self.seen: list[tuple[str, bytes | None]] = []

    def report_path(self, gate: str) -> str:
        return "report.json"

    def command(self, gate: str, options: Mapping[str, Any], report_path: str) -> tuple[str, ...]:
        return ("true",)

    def binds(self, gate: str) -> tuple[str, ...]:
        return ()

    def evaluate(
        self, job: str, gate: str, report: bytes | None, context: RunContext
    ) -> GateVerdict:
        self.seen.append((gate, report))
        if gate in self.block:
            return GateVerdict(False, (f"{gate}: 1 high finding",))
        return GateVerdict(True)


def _spec(name: str) -> JobSpec:
    return JobSpec(
        run_id=1, job=name, steps=(StepSpec("s", ("true",)),), source=WorkspaceSource(".")
    )


def _run(
    text: str,
    outcomes: Mapping[str, str] | None = None,
    durations: Mapping[str, float] | None = None,
    *,
    fail_fast: bool = True,
    independent_gates: bool = False,
    gates: BlockingGates | None = None,
    cancel: threading.Event | None = None,
    build_spec: Callable[[str], JobSpec] = _spec,
) -> tuple[Any, FakeExecutor, list[Event]]:
    pipeline = parse_pipeline(text, source="p.yml").pipeline
    plan = plan_pipeline(pipeline)
    executor = FakeExecutor(outcomes or {}, durations or {})
    events: list[Event] = []
    scheduler = Scheduler(
        run_id=RunId(1),
        plan=plan,
        context=CONTEXT,
        executor=executor,
        build_spec=build_spec,
        gate_evaluator=gates,
        observers=[events.append],
        config=SchedulerConfig(
            fail_fast=fail_fast,
            independent_gates=independent_gates,
            gates={n: j.gate for n, j in pipeline.jobs.items() if j.gate},
        ),
        cancel=cancel,
    )
    return scheduler.execute(), executor, events


DIAMOND = """
jobs:
  a: {steps: [{run: x}]}
  b: {needs: [a], steps: [{run: x}]}
  c: {needs: [a], steps: [{run: x}]}
  d: {needs: [b, c], steps: [{run: x}]}
"""


def test_dag_order_and_parallelism() -> None:
    result, executor, events = _run(DIAMOND, durations={"b": 0.3, "c": 0.3})
    assert result.state is RunState.PASSED
    assert all(s is JobState.PASSED for s in result.jobs.values())
    assert executor.started["b"] >= executor.finished["a"]
    assert executor.started["d"] >= max(executor.finished["b"], executor.finished["c"])
    # b and c overlap: each started before the other finished.
    assert executor.started["c"] < executor.finished["b"]
    assert executor.started["b"] < executor.finished["c"]
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)


def test_failure_skips_dependents_without_fail_fast() -> None:
    text = DIAMOND + "  e: {steps: [{run: x}]}\n"
    result, executor, _ = _run(text, {"b": "failed"}, {"e": 0.2}, fail_fast=False)
    assert result.state is RunState.FAILED
    assert result.jobs["b"] is JobState.FAILED
    assert result.jobs["d"] is JobState.SKIPPED
    assert "needs 'b'" in result.reasons["d"]
    assert result.jobs["e"] is JobState.PASSED
    assert "d" not in executor.started


def test_fail_fast_cancels_running_jobs() -> None:
    text = "jobs:\n  slow: {steps: [{run: x}]}\n  bad: {steps: [{run: x}]}\n"
    started = time.monotonic()
    result, _, _ = _run(text, {"bad": "failed"}, {"slow": 30, "bad": 0.05})
    assert time.monotonic() - started < 5
    assert result.state is RunState.FAILED
    assert result.jobs["slow"] is JobState.CANCELLED
    assert "fail-fast" in result.reasons["slow"]


def test_gate_block_blocks_the_run_and_stops_dependents() -> None:
    text = (
        "jobs:\n  sast: {uses: bastion/sast}\n  secrets: {uses: bastion/secrets}\n"
        "  build: {needs: [sast, secrets], steps: [{run: x}]}\n"
    )
    gates = BlockingGates({"sast"})
    result, executor, events = _run(text, gates=gates, fail_fast=False)
    assert result.state is RunState.BLOCKED
    assert result.jobs["sast"] is JobState.BLOCKED
    assert result.jobs["secrets"] is JobState.PASSED
    assert result.jobs["build"] is JobState.SKIPPED
    assert "build" not in executor.started
    assert ("sast", b"{}") in gates.seen
    blocked = [e for e in events if isinstance(e, JobChanged) and e.state is JobState.BLOCKED]
    assert blocked[0].verdict is not None
    assert "1 high finding" in result.reasons["sast"]


GATES_AND_BUILD = (
    "jobs:\n  sca: {uses: bastion/sca}\n  sast: {uses: bastion/sast}\n"
    "  iac: {uses: bastion/iac}\n  build: {needs: [sca], steps: [{run: x}]}\n"
)


def test_independent_gates_each_finish_under_fail_fast() -> None:
    """Issue 23: in the default pipeline a blocking gate cancels no other gate; fail-fast
    stops only the jobs that need it."""
    durations = {"sca": 0.05, "sast": 0.5, "iac": 0.5}
    gates = BlockingGates({"sca"})
    result, executor, _ = _run(
        GATES_AND_BUILD, durations=durations, gates=gates, independent_gates=True
    )
    assert result.state is RunState.BLOCKED
    assert result.jobs["sca"] is JobState.BLOCKED
    assert result.jobs["sast"] is JobState.PASSED
    assert result.jobs["iac"] is JobState.PASSED
    assert result.jobs["build"] is JobState.SKIPPED
    assert "needs 'sca'" in result.reasons["build"]
    assert {gate for gate, _ in gates.seen} == {"sca", "sast", "iac"}
    assert "build" not in executor.started


def test_fail_fast_still_cancels_the_other_gates_of_a_users_pipeline() -> None:
    durations = {"sca": 0.05, "sast": 30, "iac": 30}
    result, _, _ = _run(GATES_AND_BUILD, durations=durations, gates=BlockingGates({"sca"}))
    assert result.jobs["sast"] is JobState.CANCELLED
    assert "fail-fast" in result.reasons["sast"]


def test_gate_without_evaluator_fails_closed() -> None:
    result, _, _ = _run("jobs:\n  sast: {uses: bastion/sast}\n")
    assert result.state is RunState.BLOCKED
    assert "no policy engine" in result.reasons["sast"]


def test_cancel_marks_everything_cancelled() -> None:
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    result, executor, _ = _run(DIAMOND, durations={"a": 30}, cancel=cancel)
    timer.join()
    assert result.state is RunState.CANCELLED
    assert result.state.exit_code == 130
    assert set(result.jobs.values()) == {JobState.CANCELLED}
    assert "b" not in executor.started


def test_error_outcome_makes_run_error() -> None:
    result, _, _ = _run("jobs:\n  a: {steps: [{run: x}]}\n", {"a": "error"})
    assert result.state is RunState.ERROR
    assert result.state.exit_code == 3


def test_a_job_is_timed_from_its_own_start_while_the_engine_prepares_another() -> None:
    def slow_to_prepare(name: str) -> JobSpec:
        if name == "late":
            time.sleep(0.6)  # host-side preparation in the coordinating thread
        return _spec(name)

    two = "jobs:\n  quick: {steps: [{run: x}]}\n  late: {steps: [{run: x}]}\n"
    result, _executor, events = _run(two, durations={"quick": 0.3}, build_spec=slow_to_prepare)
    assert result.state is RunState.PASSED
    times = {e.state: e.at for e in events if isinstance(e, JobChanged) and e.job == "quick"}
    assert times[JobState.PASSED] - times[JobState.RUNNING] >= 0.3
