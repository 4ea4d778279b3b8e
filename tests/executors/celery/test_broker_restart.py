"""Fault 2 (issue 15): the broker restarts mid-run, Redis and then RabbitMQ; the jobs queued
or running then are neither lost nor run twice.

The private Redis keeps nothing across its restart (no RDB, no AOF): every queued message
and binding is gone, so only the executor, which knows which jobs no worker has claimed yet,
can send them again; a second delivery is refused by the lease (the first claim wins).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.executors import JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import CeleryConfig, CeleryExecutor, LeaseStore, Pool, PoolKey
from bastion.executors.celery.models import LeaseRecord
from bastion.store import open_database, sqlite_url
from tests.executors.celery.brokers import (
    TOKENS,
    rabbitmq_server,
    restart_rabbitmq,
    restartable_redis,
    start_worker,
    stop,
)

pytestmark = pytest.mark.integration

KEY = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
JOBS = 6
RUN_ID = 15

Restart = Callable[[float], None]


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Restart]]:
    if request.param == "redis":
        with restartable_redis(tmp_path) as started:
            yield started
    else:
        with rabbitmq_server(tmp_path) as url:
            yield url, functools.partial(restart_rabbitmq, url)


def _spec(source: Path, n: int) -> JobSpec:
    step = StepSpec("s", ("/bin/sh", "-e", "-c", "sleep 3; echo done"), timeout_seconds=60)
    return JobSpec(run_id=RUN_ID, job=f"j{n}", steps=(step,), source=WorkspaceSource(str(source)))


def _runs_logged(homes: list[Path]) -> dict[str, int]:
    """How many times each job was started by a worker, from the workers' logs."""
    counts: dict[str, int] = {}
    for home in homes:
        log = home / "worker.log"
        text = log.read_text() if log.exists() else ""
        for job in re.findall(r"job (j\d+) \(\S+\): granted, running", text):
            counts[job] = counts.get(job, 0) + 1
    return counts


def test_broker_restart_loses_no_job_and_runs_none_twice(
    broker: tuple[str, Restart], tmp_path: Path
) -> None:
    url, restart = broker
    source = tmp_path / "src"
    source.mkdir()
    db = open_database(sqlite_url(tmp_path / "state.db"))
    leases = LeaseStore(db)
    homes = [tmp_path / "w1", tmp_path / "w2"]
    workers = [start_worker(url, "trusted", home) for home in homes]
    config = CeleryConfig(url, KEY, leases=leases, queue_timeout_seconds=120, lease_seconds=10)
    executor = CeleryExecutor(config, secrets_for={})
    try:
        handles = [executor.submit(_spec(source, n), lambda e: None) for n in range(JOBS)]
        deadline = time.monotonic() + 60
        while sum(h.worker is not None for h in handles) < 2:  # two running, four queued
            assert time.monotonic() < deadline, "no worker took a job"
            time.sleep(0.2)
        restart(2.0)
        deadline = time.monotonic() + 120
        outcomes = [h.wait(max(0.1, deadline - time.monotonic())) for h in handles]
    finally:
        executor.shutdown()
        for worker in workers:
            stop(worker)
    assert all(o is not None and o.status is JobState.PASSED for o in outcomes), outcomes
    runs = _runs_logged(homes)
    assert runs == {f"j{n}": 1 for n in range(JOBS)}, runs
    with db.session() as session:
        rows = session.scalars(select(LeaseRecord).where(LeaseRecord.run_id == RUN_ID)).all()
        ended = {(r.job, r.state) for r in rows if r.state == "finished"}
        assert sorted(ended) == sorted((f"j{n}", "finished") for n in range(JOBS))
        assert len([r for r in rows if r.state == "finished"]) == JOBS
        never_ran = [r for r in rows if r.state != "finished"]
        assert all(runs.get(r.job, 0) == 1 for r in never_ran), never_ran
