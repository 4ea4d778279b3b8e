"""Issue 15 + 14: a Celery deploy job gets its environment's held secrets once approved.

Real ``bastion worker`` processes on a private Redis; the engine's own pieces decide
(:class:`JobResources` holds the deploy job's secrets, the approval gate's executor hands
them over on approval). The job proves it got the value by printing its digest, and the
value itself, which must come back masked.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bastion.engine.approval_gate import (
    ApprovalDecision,
    ApprovalRequest,
    gated_executor,
)
from bastion.engine.job_resources import JobResources
from bastion.executors import JobEvent, JobEventKind, JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import (
    CeleryConfig,
    CeleryExecutor,
    CeleryJobHandle,
    Pool,
    PoolKey,
    seal_grant,
)
from bastion.executors.interface import JobOutcome
from bastion.trust import RunContext, Trust
from tests.executors.celery.brokers import TOKENS, redis_server, start_worker, stop

pytestmark = pytest.mark.integration

SECRET = "prod-deploy-key-9f3a61c2"
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()
SCRIPT = 'printf %s "$DEPLOY_TOKEN" | sha256sum; echo "token=$DEPLOY_TOKEN"'
CONTEXT = RunContext("acme/app", "0" * 40, "refs/heads/main", "push", Trust.TRUSTED)


@pytest.fixture(scope="module")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def worker(broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("worker")
    process = start_worker(broker_url, "trusted", home)
    yield home
    stop(process)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    source = tmp_path / "project"
    source.mkdir()
    return source


def _resources() -> JobResources:
    """The deploy job's secret released and held, as ``prepare_job_resources`` leaves it."""
    resources = JobResources(
        env_for={"deploy": {"DEPLOY_TOKEN": SECRET}, "build": {}},
        files_for={"deploy": {"DEPLOY_TOKEN": SECRET.encode()}},
    )
    resources.hold("deploy")
    return resources


class _Gate:
    """The server's four-eyes approval, decided by the test."""

    def __init__(self, approved: bool) -> None:
        self.decision = ApprovalDecision(approved, "approved" if approved else "rejected by gina")
        self.asked: list[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        self.asked.append(request)
        return self.decision


def _deploy(
    broker: str, project: Path, resources: JobResources, gate: _Gate | None
) -> tuple[JobOutcome | None, bytes]:
    """Run the deploy job through the approval gate (``gate`` None: bypassing it)."""
    key = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
    celery = CeleryExecutor(
        CeleryConfig(broker, key, queue_timeout_seconds=60), secrets_for=resources.env_for
    )
    executor = (
        celery
        if gate is None
        else gated_executor(
            celery, gate, {"deploy": "production"}, CONTEXT, on_approved=resources.hand_over
        )
    )
    step = StepSpec("ship", ("/bin/sh", "-e", "-c", SCRIPT), timeout_seconds=60)
    spec = JobSpec(run_id=11, job="deploy", steps=(step,), source=WorkspaceSource(str(project)))
    events: list[JobEvent] = []
    try:
        outcome = executor.submit(spec, events.append).wait(90)
    finally:
        executor.shutdown()
    return outcome, b"".join(e.data for e in events if e.kind is JobEventKind.OUTPUT)


def test_approved_deploy_job_gets_its_held_secret_masked(
    broker_url: str, worker: Path, project: Path
) -> None:
    resources = _resources()
    gate = _Gate(approved=True)
    outcome, output = _deploy(broker_url, project, resources, gate)
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    assert [r.job for r in gate.asked] == ["deploy"]
    assert DIGEST.encode() in output  # the job had the value itself
    assert b"token=" in output
    assert SECRET.encode() not in output  # and its log shows it masked


@pytest.mark.parametrize("gate", [_Gate(approved=False), None], ids=["rejected", "no-approval"])
def test_deploy_job_never_gets_its_secret_without_approval(
    broker_url: str, worker: Path, project: Path, gate: _Gate | None
) -> None:
    resources = _resources()
    outcome, output = _deploy(broker_url, project, resources, gate)
    assert outcome is not None
    assert "deploy" in resources.held_for  # still held: nothing was handed over
    if gate is not None:  # rejected: blocked, never sent to a worker
        assert outcome.status is JobState.BLOCKED
        assert outcome.reason == "rejected by gina"
        assert output == b""
    else:  # submitted past the gate, before any approval: it runs without the secret
        assert outcome.status is JobState.PASSED, outcome
        assert DIGEST.encode() not in output
        assert hashlib.sha256(b"").hexdigest().encode() in output
    assert SECRET not in (worker / "worker.log").read_text()


def test_untrusted_worker_cannot_open_a_trusted_grant(
    broker_url: str, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trusted grant's sealed secrets delivered to an untrusted-pool worker: refused."""
    untrusted = start_worker(broker_url, "untrusted", tmp_path / "u1")
    key = PoolKey(Pool.UNTRUSTED, TOKENS["untrusted"].encode())
    trusted = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
    executor = CeleryExecutor(
        CeleryConfig(broker_url, key, queue_timeout_seconds=60),
        secrets_for={"deploy": {"DEPLOY_TOKEN": SECRET}},
    )

    def trusted_grant(handle: CeleryJobHandle, worker: str) -> dict[str, Any]:
        """A trusted-pool grant (its secrets sealed for the trusted pool), on this channel."""
        sealed = seal_grant(trusted, handle.task_id, worker, {"DEPLOY_TOKEN": SECRET})
        return {"type": "grant", "task_id": handle.task_id, "worker": worker, "secrets": sealed}

    monkeypatch.setattr(executor, "_grant", trusted_grant)
    step = StepSpec("ship", ("/bin/sh", "-c", SCRIPT), timeout_seconds=60)
    spec = JobSpec(run_id=12, job="deploy", steps=(step,), source=WorkspaceSource(str(project)))
    events: list[JobEvent] = []
    try:
        outcome = executor.submit(spec, events.append).wait(90)
    finally:
        executor.shutdown()
        stop(untrusted)
    assert outcome is not None
    assert outcome.status is JobState.ERROR, outcome
    assert "cannot be read by the untrusted pool" in (outcome.reason or "")
    assert not any(e.kind is JobEventKind.OUTPUT for e in events)  # nothing ran


def test_only_the_jobs_own_secrets_travel_in_its_grant(
    broker_url: str, worker: Path, project: Path
) -> None:
    """A run's other job, granted while the deploy job's secret is handed over, gets none."""
    resources = _resources()
    resources.hand_over("deploy")
    key = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
    executor = CeleryExecutor(
        CeleryConfig(broker_url, key, queue_timeout_seconds=60), secrets_for=resources.env_for
    )
    step = StepSpec("b", ("/bin/sh", "-c", SCRIPT), timeout_seconds=60)
    spec = JobSpec(run_id=13, job="build", steps=(step,), source=WorkspaceSource(str(project)))
    events: list[JobEvent] = []
    try:
        outcome = executor.submit(spec, events.append).wait(90)
    finally:
        executor.shutdown()
    output = b"".join(e.data for e in events if e.kind is JobEventKind.OUTPUT)
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    assert DIGEST.encode() not in output
