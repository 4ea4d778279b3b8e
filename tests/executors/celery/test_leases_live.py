"""Leases kept in the database with real brokers: a duplicate delivery runs nothing twice, a
worker whose clock is 5 minutes off keeps its lease, a revoked worker loses its job to
another, a draining worker is granted nothing new."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from bastion.audit import AuditLog, Ed25519NoteSigner
from bastion.engine import make_sandbox
from bastion.executors import JobEvent, JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import (
    CeleryConfig,
    CeleryExecutor,
    LeaseStore,
    Pool,
    PoolKey,
    WorkerRuntime,
    WorkerState,
    change_worker,
    make_app,
)
from bastion.executors.secret_guard import NoMasking
from bastion.store import open_database, sqlite_url
from tests.executors.celery.brokers import TOKENS, start_worker, stop

pytestmark = pytest.mark.integration

KEY = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())


def _spec(source: Path, script: str, run_id: int = 7) -> JobSpec:
    step = StepSpec("s", ("/bin/sh", "-e", "-c", script), timeout_seconds=60)
    return JobSpec(run_id=run_id, job="build", steps=(step,), source=WorkspaceSource(str(source)))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    source = tmp_path / "project"
    source.mkdir()
    return source


@pytest.fixture
def leases(tmp_path: Path) -> LeaseStore:
    return LeaseStore(open_database(sqlite_url(tmp_path / "state.db")))


def _executor(broker: str, leases: LeaseStore, **config: Any) -> CeleryExecutor:
    return CeleryExecutor(CeleryConfig(broker, KEY, leases=leases, **config), secrets_for={})


def _wait_for(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


def _logs(*homes: Path) -> str:
    return "".join((h / "worker.log").read_text() for h in homes if (h / "worker.log").exists())


def test_duplicate_delivery_runs_nothing_twice(
    broker_url: str, project: Path, tmp_path: Path, leases: LeaseStore
) -> None:
    homes = [tmp_path / "w1", tmp_path / "w2"]
    workers = [start_worker(broker_url, "trusted", h) for h in homes]
    executor = _executor(broker_url, leases, queue_timeout_seconds=60)
    try:
        handle = executor.submit(_spec(project, "sleep 3"), lambda e: None)
        executor._publish(handle)  # the broker delivers the same job twice
        outcome = handle.wait(60)
        _wait_for(lambda: "not granted (duplicate)" in _logs(*homes), 30)
    finally:
        executor.shutdown()
        for w in workers:
            stop(w)
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    assert handle.attempt == 1
    assert _logs(*homes).count("not granted (duplicate)") == 1
    lease = leases.lease(handle.task_id)
    assert lease is not None
    assert lease.state == "finished"


def _take_one(broker: str, timeout: float) -> object:
    """The next job message of the trusted queue, taken off the broker as a worker would."""
    app = make_app(broker, Pool.TRUSTED)
    with app.connection_for_read() as connection:
        jobs = connection.SimpleQueue(Pool.TRUSTED.queue)
        try:
            message = jobs.get(block=True, timeout=timeout)
            message.ack()
            return message.payload[0][0]
        finally:
            jobs.close()


@pytest.mark.parametrize("skew", [300.0, -300.0])
def test_worker_whose_clock_is_five_minutes_off_keeps_its_lease(
    broker_url: str, project: Path, tmp_path: Path, leases: LeaseStore, skew: float
) -> None:
    """Fault 5: expiry allows the skew, heartbeats are stamped by the server."""
    executor = _executor(broker_url, leases, lease_seconds=3, queue_timeout_seconds=20, retries=0)
    runtime = WorkerRuntime(
        app=make_app(broker_url, Pool.TRUSTED),
        key=KEY,
        sandbox=make_sandbox(False, None, tmp_path / "home"),
        workspace_parent=Path(tempfile.mkdtemp(dir=tmp_path)),
        masking=lambda _values: NoMasking(),
        name="skewed@test.1",
        heartbeat_seconds=1.0,
        clock=lambda: time.time() + skew,
    )
    events: list[JobEvent] = []
    try:
        handle = executor.submit(_spec(project, "sleep 7"), events.append)
        result = runtime.handle(_take_one(broker_url, 20))
        outcome = handle.wait(20)
    finally:
        executor.shutdown()
    assert result == "passed"
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    lease = leases.lease(handle.task_id)
    assert lease is not None
    assert lease.state == "finished"
    assert lease.ended_at is not None
    assert 5 <= (lease.ended_at - lease.claimed_at).total_seconds() < 60
    assert all(abs(e.at - time.time()) < 60 for e in events)  # server time, not the worker's


def test_revoked_worker_loses_its_job_to_another(
    broker_url: str, project: Path, tmp_path: Path, leases: LeaseStore
) -> None:
    audit_db = open_database(sqlite_url(tmp_path / "audit.db"))
    log = AuditLog(audit_db, Ed25519NoteSigner.generate("bastion.test/log"))
    workers = [start_worker(broker_url, "trusted", tmp_path / f"w{n}") for n in (1, 2)]
    executor = _executor(broker_url, leases, queue_timeout_seconds=60)
    try:
        handle = executor.submit(_spec(project, "sleep 8"), lambda e: None)
        first = _wait_for(lambda: handle.worker, 60)
        first_task = handle.task_id
        change_worker(leases, log.append, first, WorkerState.REVOKED, actor="alice")
        outcome = handle.wait(60)
    finally:
        executor.shutdown()
        for w in workers:
            stop(w)
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    assert handle.attempt == 2
    assert handle.worker != first
    revoked = leases.lease(first_task)
    assert revoked is not None
    assert revoked.state == "revoked"
    (entry,) = list(log.entries())
    assert entry.event.action == "worker.revoked"
    assert entry.event.subject == f"worker/{first}"


def test_draining_worker_is_granted_no_new_job(
    broker_url: str, project: Path, tmp_path: Path, leases: LeaseStore
) -> None:
    homes = [tmp_path / "w1", tmp_path / "w2"]
    first: subprocess.Popen[bytes] = start_worker(broker_url, "trusted", homes[0])
    executor = _executor(broker_url, leases, queue_timeout_seconds=60)
    second = None
    try:
        warm = executor.submit(_spec(project, "true"), lambda e: None)
        assert warm.wait(60) is not None
        drained = str(warm.worker)
        change_worker(leases, lambda e: None, drained, WorkerState.DRAINING, actor="alice")
        second = start_worker(broker_url, "trusted", homes[1])
        handle = executor.submit(_spec(project, "true", run_id=8), lambda e: None)
        outcome = handle.wait(60)
    finally:
        executor.shutdown()
        stop(first)
        if second is not None:
            stop(second)
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    assert handle.worker != drained
