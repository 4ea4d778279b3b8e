"""Real ``bastion worker`` processes on a private Redis and RabbitMQ: jobs, pools, forged
messages, and a worker killed with SIGKILL mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.executors import JobEvent, JobEventKind, JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import (
    TASK_NAME,
    CeleryConfig,
    CeleryExecutor,
    Pool,
    PoolKey,
    make_app,
    seal_message,
)
from bastion.executors.celery.channel import Subscription
from bastion.executors.celery.wire import spec_to_json
from tests.executors.celery.brokers import TOKENS, start_worker, stop

pytestmark = pytest.mark.integration


def _key(pool: str) -> PoolKey:
    return PoolKey(Pool(pool), TOKENS[pool].encode())


def _spec(source: Path, script: str, job: str = "build") -> JobSpec:
    step = StepSpec("s", ("/bin/sh", "-e", "-c", script), timeout_seconds=60)
    return JobSpec(run_id=7, job=job, steps=(step,), source=WorkspaceSource(str(source)))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    source = tmp_path / "project"
    source.mkdir()
    (source / "app.txt").write_text("hello")
    return source


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop(process)


def _executor(broker: str, pool: str, **config: float) -> CeleryExecutor:
    return CeleryExecutor(
        CeleryConfig(broker, _key(pool), **config),  # type: ignore[arg-type]
        secrets_for={"build": {"API_TOKEN": "hunter2-very-secret"}},
    )


def test_job_runs_on_its_pool_with_secret_masked(
    broker_url: str, project: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.append(start_worker(broker_url, "trusted", tmp_path / "w1"))
    executor = _executor(broker_url, "trusted", queue_timeout_seconds=60)
    events: list[JobEvent] = []
    try:
        handle = executor.submit(_spec(project, 'cat app.txt; echo "t=$API_TOKEN"'), events.append)
        outcome = handle.wait(60)
    finally:
        executor.shutdown()
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    output = b"".join(e.data for e in events if e.kind is JobEventKind.OUTPUT)
    assert b"hello" in output
    assert b"t=" in output
    assert b"hunter2" not in output


def test_untrusted_job_never_reaches_a_trusted_worker(
    broker_url: str, project: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.append(start_worker(broker_url, "trusted", tmp_path / "w1"))
    executor = _executor(broker_url, "untrusted", queue_timeout_seconds=8)
    try:
        outcome = executor.submit(_spec(project, "true"), lambda e: None).wait(30)
    finally:
        executor.shutdown()
    assert outcome is not None
    assert outcome.status is JobState.ERROR
    assert "no worker of the untrusted pool" in (outcome.reason or "")


def test_forged_message_on_the_broker_is_refused(
    broker_url: str, tmp_path: Path, project: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    home = tmp_path / "w1"
    workers.append(start_worker(broker_url, "trusted", home))
    app = make_app(broker_url, Pool.TRUSTED)
    listen = Subscription(app.connection_for_read(), _key("trusted"), "bastion.reply.t", "claim")
    # A job message the worker would run, but for its signature: a forger can write one.
    body = {
        "type": "job",
        "task_id": "x.1",
        "attempt": 1,
        "spec": spec_to_json(_spec(project, "touch forged")),
        "requires": [],
        "reply_to": "bastion.reply.t",
        "expires_at": time.time() + 300,
    }
    forged = [
        seal_message(PoolKey(Pool.TRUSTED, b"attacker-key" * 4), body),  # not the server's key
        {**seal_message(_key("untrusted"), body), "pool": "trusted"},  # another pool's key
        {"v": 1, "pool": "trusted", "body": "{}", "sig": ""},
    ]
    try:
        for message in forged:
            app.send_task(TASK_NAME, args=[message])
        # Until the worker has judged all of them (its start-up takes seconds under load),
        # then a little longer: a claim would follow its job message at once.
        deadline, claims, refused = time.monotonic() + 60, [], 0
        while time.monotonic() < deadline and refused < len(forged):
            claims += listen.poll(0.5)
            refused = (home / "worker.log").read_text().count("refused a job message")
        claims += listen.poll(1.0)
    finally:
        listen.close()
    assert claims == []
    log = (home / "worker.log").read_text()
    assert log.count("refused a job message") == len(forged), log


def _holder(handle: object, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker = handle.worker  # type: ignore[attr-defined]
        if worker is not None:
            return str(worker)
        time.sleep(0.2)
    raise AssertionError("no worker took the job")


def _kill(workers: list[subprocess.Popen[bytes]], name: str) -> None:
    victim = next(w for w in workers if name.endswith(f".{w.pid}"))
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)


def test_killed_worker_job_is_retried_on_another(
    broker_url: str, project: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    for n in (1, 2):
        workers.append(start_worker(broker_url, "trusted", tmp_path / f"w{n}"))
    executor = _executor(broker_url, "trusted", queue_timeout_seconds=60)
    try:
        handle = executor.submit(_spec(project, "sleep 6; echo finished"), lambda e: None)
        first = _holder(handle, 60)
        time.sleep(1)
        killed_at = time.monotonic()
        _kill(workers, first)
        outcome = handle.wait(60)
    finally:
        executor.shutdown()
    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    assert handle.attempt == 2
    assert handle.worker != first
    assert time.monotonic() - killed_at < 45


def test_killed_worker_with_none_left_fails_as_worker_lost(
    broker_url: str, project: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.append(start_worker(broker_url, "trusted", tmp_path / "w1"))
    executor = _executor(broker_url, "trusted", queue_timeout_seconds=60)
    try:
        handle = executor.submit(_spec(project, "sleep 30"), lambda e: None)
        first = _holder(handle, 60)
        killed_at = time.monotonic()
        _kill(workers, first)
        outcome = handle.wait(40)
        took = time.monotonic() - killed_at
    finally:
        executor.shutdown()
    assert outcome is not None
    assert outcome.status is JobState.FAILED
    assert "worker lost" in (outcome.reason or "")
    assert took < 30


def test_unanswering_broker_exits_quickly_with_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bastion.cli.main", "worker", "--pool", "trusted",
         "--broker", "amqp://guest:guest@127.0.0.1:1//"],
        env={**os.environ, "BASTION_HOME": str(tmp_path), "BASTION_WORKER_TOKEN": "t" * 64},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 3
    assert time.monotonic() - started < 10
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unknown_pool_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bastion.cli.main", "worker", "--pool", "everyone"],
        env={**os.environ, "BASTION_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
