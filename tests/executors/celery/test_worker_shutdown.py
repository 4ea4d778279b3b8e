"""A ``bastion worker`` stopped with SIGTERM waits for its sent results to be confirmed.

A job's task returns once its result is sent; its lease thread sends it again until the
server says ``done``. The server here (a :class:`CeleryExecutor` that loses every result
until told otherwise, as a broker hiccup would) confirms nothing at first: the worker,
sent SIGTERM right after the job finished, stays alive sending the result again, exits 0
on its own once it is confirmed, and the job runs once although another worker of the
pool stands by to run it again. A cold shutdown (SIGQUIT) still ends the wait at once.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from bastion.executors import JobEventKind, JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import (
    CeleryConfig,
    CeleryExecutor,
    Pool,
    PoolKey,
    WorkerRuntime,
    make_app,
)
from bastion.executors.celery.wire import event_from_json
from bastion.executors.celery.worker import _Lease
from bastion.executors.secret_guard import NoMasking
from tests.engine.fakes import ViewSandbox
from tests.executors.celery.brokers import TOKENS, start_worker, stop

HELD = 5.0
"""Seconds the server holds back its confirmation after the SIGTERM: two result periods."""


class _ResultsLost(CeleryExecutor):
    """A server whose jobs' results are all lost on the way until ``confirm`` is set."""

    def __init__(self, config: CeleryConfig) -> None:
        self.confirm = threading.Event()
        self.first_lost = threading.Event()
        self.lost = 0
        super().__init__(config, secrets_for={})

    def _on_message(self, message: dict[str, Any]) -> None:
        if not self.confirm.is_set() and _is_result(message):
            self.lost += 1
            self.first_lost.set()
            return
        super()._on_message(message)


def _is_result(message: dict[str, Any]) -> bool:
    if message.get("type") != "event":
        return False
    return event_from_json(message["event"]).kind is JobEventKind.FINISHED


@pytest.fixture
def workers(
    broker_url: str, tmp_path: Path
) -> Iterator[dict[int, tuple[subprocess.Popen[bytes], Path]]]:
    """Two workers of the trusted pool, by process id: the job's holder is stopped, the
    other one would take the job were it sent again."""
    started = {}
    for n in (1, 2):
        home = tmp_path / f"w{n}"
        process = start_worker(broker_url, "trusted", home)
        started[process.pid] = (process, home)
    yield started
    for process, _home in started.values():
        stop(process, signal.SIGKILL)


@pytest.fixture
def executor(broker_url: str) -> Iterator[_ResultsLost]:
    key = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
    # A long lease: the results this server drops renew nothing, and only the worker's
    # shutdown is under test here, not the lease's expiry.
    lost = _ResultsLost(CeleryConfig(broker_url, key, lease_seconds=60, queue_timeout_seconds=60))
    yield lost
    lost.confirm.set()
    lost.shutdown()


def _spec(tmp_path: Path) -> JobSpec:
    source = tmp_path / "project"
    source.mkdir(exist_ok=True)
    step = StepSpec("s", ("/bin/sh", "-c", "echo ran"), timeout_seconds=60)
    return JobSpec(run_id=3, job="deploy", steps=(step,), source=WorkspaceSource(str(source)))


def _holder(
    workers: dict[int, tuple[subprocess.Popen[bytes], Path]], name: str | None
) -> tuple[subprocess.Popen[bytes], Path]:
    assert name is not None
    return workers[int(name.rsplit(".", 1)[1])]


def _logs(workers: dict[int, tuple[subprocess.Popen[bytes], Path]]) -> str:
    return "\n".join((home / "worker.log").read_text() for _p, home in workers.values())


def _until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.integration
def test_sigterm_waits_until_the_result_is_confirmed(
    executor: _ResultsLost,
    workers: dict[int, tuple[subprocess.Popen[bytes], Path]],
    tmp_path: Path,
) -> None:
    handle = executor.submit(_spec(tmp_path), lambda e: None)
    assert executor.first_lost.wait(60), _logs(workers)
    process, home = _holder(workers, handle.worker)
    process.send_signal(signal.SIGTERM)
    waiting = _until(lambda: "waiting up to" in (home / "worker.log").read_text(), 15)
    later = executor.submit(dataclasses.replace(_spec(tmp_path), job="next"), lambda e: None)
    time.sleep(HELD)
    alive_while_unconfirmed = process.poll() is None
    lost_meanwhile = executor.lost
    executor.confirm.set()
    outcome, later_outcome = handle.wait(30), later.wait(30)
    try:
        code: int | None = process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        code = None
    logs = _logs(workers)
    assert waiting, logs
    assert alive_while_unconfirmed, logs
    assert lost_meanwhile >= 2, logs  # its lease thread went on sending the result
    assert later_outcome is not None, logs
    assert later_outcome.status is JobState.PASSED, (later_outcome, logs)
    assert later.worker != handle.worker, logs  # a stopping worker takes no new job
    assert "waiting up to 60 s for the server to confirm 1 job result(s)" in logs
    assert outcome is not None, logs
    assert outcome.status is JobState.PASSED, (outcome, logs)
    assert code == 0, logs  # on its own, once confirmed
    assert handle.attempt == 1, logs
    assert logs.count("job deploy (") == 1, logs  # not run again by the other worker
    assert "not confirmed" not in logs


@pytest.mark.integration
def test_a_cold_shutdown_ends_the_wait_at_once(
    executor: _ResultsLost,
    workers: dict[int, tuple[subprocess.Popen[bytes], Path]],
    tmp_path: Path,
) -> None:
    handle = executor.submit(_spec(tmp_path), lambda e: None)
    assert executor.first_lost.wait(60), _logs(workers)
    process, home = _holder(workers, handle.worker)
    process.send_signal(signal.SIGTERM)
    assert _until(lambda: "waiting up to" in (home / "worker.log").read_text(), 15), _logs(workers)
    process.send_signal(signal.SIGQUIT)
    exited = _until(lambda: process.poll() is not None, 10)
    logs = _logs(workers)
    assert exited, logs
    assert "exiting with 1 job result(s) not confirmed" in logs


def _runtime(tmp_path: Path) -> WorkerRuntime:
    """A runtime that never reaches a broker (nothing here opens its channels)."""
    return WorkerRuntime(
        app=make_app("redis://127.0.0.1:1/0", Pool.TRUSTED),
        key=PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode()),
        sandbox=ViewSandbox(),
        workspace_parent=tmp_path,
        masking=lambda _values: NoMasking(),
        name="trusted@test.1",
    )


def _kept(runtime: WorkerRuntime) -> _Lease:
    """A lease kept on ``runtime`` whose result is never confirmed (a stand-in)."""
    lease = cast("_Lease", object())
    runtime._shared.track(lease)
    return lease


def test_the_wait_for_results_is_bounded(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    _kept(runtime)
    started = time.monotonic()
    left = runtime.settle(0.6, give_up=lambda: False)
    took = time.monotonic() - started
    assert left == 1
    assert 0.6 <= took < 3


def test_the_wait_ends_when_the_last_lease_ends(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    lease = _kept(runtime)
    threading.Timer(0.3, runtime._shared.untrack, args=(lease,)).start()
    started = time.monotonic()
    left = runtime.settle(30, give_up=lambda: False)
    assert left == 0
    assert time.monotonic() - started < 5


def test_a_cold_shutdown_gives_up_the_wait(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    _kept(runtime)
    started = time.monotonic()
    assert runtime.settle(30, give_up=lambda: True) == 1
    assert time.monotonic() - started < 1
