"""Gate jobs of a run yield the CPU to the longest one beside them, as ``bastion scan`` does.

A recording executor (our own interface) runs each job at once and keeps the spec it was
given; the reports are judged by the real policy, so the verdicts can be compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from bastion.engine.gate_evaluator import PolicyGateEvaluator
from bastion.engine.gate_priority import YIELDING_NICE
from bastion.engine.model import JobState, RunContext, RunId, RunResult, Trust
from bastion.engine.scheduler import Scheduler, SchedulerConfig
from bastion.executors import JobEvent, JobEventKind, JobOutcome, JobSpec, StepSpec, WorkspaceSource
from bastion.executors.interface import JobEventSink
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.policy import PolicyEngine
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import GateReport
from bastion.scanners.runner import encode_report

CONTEXT = RunContext("repo", "c0ffee", "refs/heads/main", "local", Trust.LOCAL)
PIPELINE = """
jobs:
  secrets: {uses: bastion/secrets}
  sast: {uses: bastion/sast}
  iac: {uses: bastion/iac}
  build: {steps: [{run: make}]}
  after: {needs: [sast, iac], uses: bastion/sca}
"""
# CPU seconds of each gate's last run: iac is the longest of the three that start together.
HISTORY = {"secrets": 0.4, "sast": 2.5, "iac": 3.2, "sca": 0.9}
EVALUATOR = PolicyGateEvaluator(PolicyEngine.load(None))


class _Done:
    def cancel(self) -> None:
        """Already finished."""

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        return None


class RecordingExecutor:
    """Finishes each job at once with its gate's canned report; keeps every spec."""

    name = "recording"

    def __init__(self, reports: Mapping[str, bytes]) -> None:
        self.reports = reports
        self.specs: dict[str, JobSpec] = {}

    def submit(self, spec: JobSpec, on_event: JobEventSink) -> _Done:
        self.specs[spec.job] = spec
        on_event(JobEvent(JobEventKind.STARTED, spec.job, at=1.0))
        gate = spec.job if spec.job != "after" else "sca"
        collected = {}
        if spec.job in self.reports:
            collected[EVALUATOR.report_path(gate)] = self.reports[spec.job]
        on_event(
            JobEvent(
                JobEventKind.FINISHED,
                spec.job,
                outcome=JobOutcome(JobState.PASSED, None, collected),
            )
        )
        return _Done()

    def shutdown(self) -> None:
        """Nothing to release."""

    def niceness(self) -> dict[str, int]:
        return {job: spec.nice for job, spec in self.specs.items()}


def _report(gate: str, *findings: Finding) -> bytes:
    return json.dumps(encode_report(GateReport(gate, findings, cpu_seconds=HISTORY[gate]))).encode()


def _reports() -> dict[str, bytes]:
    high = Finding.create(
        gate="secrets",
        rule_id="aws-access-key",
        severity=Severity.HIGH,
        message="an AWS access key",
        location=Location("deploy.sh", 1),
        match_key="AKIA-fingerprint",
    )
    low = Finding.create(
        gate="iac",
        rule_id="CKV_AWS_1",
        severity=Severity.LOW,
        message="bucket without logging",
        location=Location("main.tf", 3),
        match_key="aws_s3_bucket.a",
    )
    return {
        "secrets": _report("secrets", high),
        "sast": _report("sast"),
        "iac": _report("iac", low),
        "after": _report("sca"),
    }


def _spec(name: str) -> JobSpec:
    return JobSpec(
        run_id=1, job=name, steps=(StepSpec("s", ("true",)),), source=WorkspaceSource(".")
    )


def _run(gate_cpu: Mapping[str, float]) -> tuple[RunResult, RecordingExecutor]:
    pipeline = parse_pipeline(PIPELINE, source="p.yml").pipeline
    executor = RecordingExecutor(_reports())
    scheduler = Scheduler(
        run_id=RunId(1),
        plan=plan_pipeline(pipeline),
        context=CONTEXT,
        executor=executor,
        build_spec=_spec,
        gate_evaluator=EVALUATOR,
        observers=[],
        config=SchedulerConfig(
            fail_fast=False,
            gates={name: job.gate for name, job in pipeline.jobs.items() if job.gate},
            gate_cpu=gate_cpu,
        ),
    )
    return scheduler.execute(), executor


def test_the_longest_gate_job_keeps_normal_priority_and_the_others_yield() -> None:
    _, executor = _run(HISTORY)
    assert executor.niceness() == {
        "iac": 0,
        "secrets": YIELDING_NICE,
        "sast": YIELDING_NICE,
        "build": 0,  # not a gate: its priority is the pipeline's business
        "after": 0,  # it can only meet secrets (it needs sast and iac), a shorter gate
    }


def test_without_history_every_job_keeps_normal_priority() -> None:
    _, executor = _run({})
    assert set(executor.niceness().values()) == {0}


def test_findings_and_decisions_are_the_same_whatever_the_priority() -> None:
    yielding, _ = _run(HISTORY)
    plain, _ = _run({})
    assert yielding.jobs == plain.jobs
    assert yielding.verdicts == plain.verdicts
    assert not yielding.verdicts["secrets"].passed  # the high finding blocks either way
    assert yielding.verdicts["iac"].to_summary()["findings"] == 1
    assert yielding.verdicts["after"].passed  # it ran, after sast and iac passed
    assert yielding.verdicts["iac"].cpu_seconds == HISTORY["iac"]  # what the next run uses
