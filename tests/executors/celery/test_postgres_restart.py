"""Fault 3 (issue 15): PostgreSQL restarts mid-run under ``bastion serve --executor celery``.

The server's database is a private cluster (:mod:`tests.server.private_postgres`), stopped
with ``pg_ctl stop -m immediate`` (every connection cut, as a crash would) while two jobs run
on two real workers and started again seconds later. The server and its executor reconnect;
the run finishes; afterwards each job is in a final state once, no job or lease is left
``running``, each job has exactly one finished lease, and ``bastion audit verify`` passes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.errors import StoreError
from bastion.executors import JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import (
    CeleryConfig,
    CeleryExecutor,
    Claim,
    Grant,
    LeaseStore,
    Pool,
    PoolKey,
)
from bastion.executors.celery.models import LeaseRecord
from bastion.store import Database, JobRecord, RunRecord, StepRecord, open_database
from tests.executors.celery.brokers import (
    TOKENS,
    rabbitmq_server,
    redis_server,
    start_worker,
    stop,
)
from tests.executors.celery.served import CelerySite, celery_site
from tests.server.live_api import admin_token, call, wait_for_run, work_tree
from tests.server.private_postgres import PrivatePostgres, private_postgres

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PIPELINE = """\
name: outage
on: [push]
jobs:
  a: {steps: [{name: s, run: "echo a; sleep 2; echo a done"}]}
  b: {steps: [{name: s, run: "echo b; sleep 2; echo b done"}]}
  c: {needs: [a], steps: [{name: s, run: echo c}]}
  d: {needs: [b], steps: [{name: s, run: echo d}]}
"""
JOBS = {"a", "b", "c", "d"}
KEY = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private broker of each kind. On RabbitMQ, which delivers the executor's messages in
    larger batches, this test once ended with a passed job whose step stayed ``running``:
    a StoreError dropped the rest of a batch (test_database_outage_messages.py)."""
    (tmp_path / "broker").mkdir()
    start = redis_server if request.param == "redis" else rabbitmq_server
    with start(tmp_path / "broker") as url:
        yield url


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as cluster:
        yield cluster


def _wait_jobs_running(site: CelerySite, token: str, run_id: int, jobs: set[str]) -> None:
    assert site.server is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = call(site.server, "GET", f"/api/runs/{run_id}", token)
        # Started, on two workers; one may have ended already on a slow machine.
        if {job["name"] for job in run["jobs"] if job["status"] in ("running", "passed")} >= jobs:
            return
        time.sleep(0.2)
    raise AssertionError(f"{jobs} never started:\n{site.server.stderr()}")


def audit_verifies(site: CelerySite) -> subprocess.CompletedProcess[str]:
    """``bastion audit verify`` over the site's database, with the server's keys."""
    bastion = Path(sys.executable).with_name("bastion")
    return subprocess.run(
        [str(bastion), "audit", "verify", "--db", site.database_url],
        env=site.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_postgres_restart_mid_run_leaves_consistent_records(
    broker: str, postgres: PrivatePostgres, tmp_path: Path
) -> None:
    repo = work_tree(tmp_path / "app", PIPELINE)
    with celery_site(tmp_path, broker, postgres.url) as site:
        site.start_worker()
        site.start_worker()
        server = site.start_server()
        token = admin_token(server)
        call(server, "POST", "/api/repositories", token, {"name": "app", "path": str(repo)})
        run_id = call(server, "POST", "/api/runs", token, {"repo": "app", "branch": "main"})["id"]
        _wait_jobs_running(site, token, run_id, {"a", "b"})
        postgres.stop()
        time.sleep(6)  # both jobs end, c and d are sent, while the database is away
        postgres.start()
        run = wait_for_run(server, token, run_id, timeout=150)
        verified = audit_verifies(site)
        logs = site.worker_logs()
    assert run["status"] == "passed", (run, server.stderr(), logs)
    db = open_database(postgres.url)
    try:
        with db.session() as session:
            status = session.scalar(select(RunRecord.status).where(RunRecord.id == run_id))
            jobs = session.execute(
                select(JobRecord.name, JobRecord.status).where(JobRecord.run_id == run_id)
            ).all()
            steps = session.execute(
                select(JobRecord.name, StepRecord.status)
                .join(StepRecord, StepRecord.job_id == JobRecord.id)
                .where(JobRecord.run_id == run_id)
            ).all()
            leases = session.execute(
                select(LeaseRecord.job, LeaseRecord.state).where(LeaseRecord.run_id == run_id)
            ).all()
    finally:
        db.dispose()
    assert status == "passed"
    assert sorted(jobs) == sorted((job, "passed") for job in JOBS)
    # Written while the database was away, kept and written once it came back.
    assert sorted(steps) == sorted((job, "passed") for job in JOBS), steps
    assert sorted(leases) == sorted((job, "finished") for job in JOBS), leases
    assert verified.returncode == 0, verified.stdout + verified.stderr


class AwayAtFirst(LeaseStore):
    """The real lease store, whose database does not answer the first ``away`` grants."""

    def __init__(self, db: Database, away: int) -> None:
        super().__init__(db)
        self.away = away

    def grant(self, claim: Claim, *, now: float) -> Grant:
        if self.away > 0:
            self.away -= 1
            raise StoreError("state database error: the database is away")
        return super().grant(claim, now=now)


def test_a_claim_the_database_could_not_record_is_sent_again(tmp_path: Path) -> None:
    """Regression: the claim used up the job's message, so without sending it again the job
    waited for the queue timeout (10 min) and failed."""
    (tmp_path / "redis").mkdir()
    (tmp_path / "src").mkdir()
    step = StepSpec("s", ("/bin/sh", "-c", "echo ran"), timeout_seconds=30)
    spec = JobSpec(run_id=3, job="j", steps=(step,), source=WorkspaceSource(str(tmp_path / "src")))
    leases = AwayAtFirst(open_database(f"sqlite:///{tmp_path / 'state.db'}"), away=2)
    with redis_server(tmp_path / "redis") as url:
        worker = start_worker(url, "trusted", tmp_path / "w1")
        config = CeleryConfig(url, KEY, leases=leases, queue_timeout_seconds=600)
        executor = CeleryExecutor(config, secrets_for={})
        try:
            outcome = executor.submit(spec, lambda e: None).wait(90)
        finally:
            executor.shutdown()
            stop(worker)
    assert outcome is not None, (tmp_path / "w1" / "worker.log").read_text()
    assert outcome.status is JobState.PASSED
    assert leases.away == 0
    assert (tmp_path / "w1" / "worker.log").read_text().count("database unavailable") == 2
