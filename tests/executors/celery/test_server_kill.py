"""Fault 4 (issue 15): ``kill -9`` of ``bastion serve --executor celery`` mid-run.

The server process owns the run's scheduler and executor; it dies with a job running in a
sandbox on a real worker. Started again over the same home and database, it closes the run
as interrupted, with the reason, and its lease as ``interrupted``; the worker, hearing no more
from the server, stops the job itself: no ``bwrap`` is left in its session and its workspace
is gone. The audit log verifies, and the same worker takes the next run's job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.executors import JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import CeleryConfig, CeleryExecutor, Pool, PoolKey
from bastion.executors.celery.models import LeaseRecord
from bastion.store import open_database
from tests.executors.celery.brokers import TOKENS, rabbitmq_server, redis_server
from tests.executors.celery.served import CelerySite, celery_site
from tests.executors.celery.test_postgres_restart import audit_verifies
from tests.server.live_api import SLOW, admin_token, call, commit_all, wait_for_run, work_tree

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVER_TIMEOUT = 4  # seconds of silence after which the worker stops a job


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private broker of each kind (the issue's faults are survived on both)."""
    (tmp_path / "broker").mkdir()
    start = redis_server if request.param == "redis" else rabbitmq_server
    with start(tmp_path / "broker") as url:
        yield url


def _until(what: str, check: Callable[[], bool], site: CelerySite, timeout: float) -> float:
    """Seconds it took until ``check()``; AssertionError naming ``what`` after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not {what} after {timeout} s:\n{site.worker_logs()}")
        time.sleep(0.2)
    return time.monotonic() - started


def _lease_states(url: str, run_id: int) -> list[str]:
    db = open_database(url)
    try:
        with db.session() as session:
            return list(
                session.scalars(select(LeaseRecord.state).where(LeaseRecord.run_id == run_id))
            )
    finally:
        db.dispose()


def test_killed_server_leaves_no_running_run_and_no_orphan_sandbox(
    broker: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    repo = work_tree(tmp_path / "app", SLOW)
    with celery_site(tmp_path, broker, url) as site:
        site.start_worker("--server-timeout", str(SERVER_TIMEOUT))
        server = site.start_server()
        token = admin_token(server)
        call(server, "POST", "/api/repositories", token, {"name": "app", "path": str(repo)})
        run_id = call(server, "POST", "/api/runs", token, {"repo": "app", "branch": "main"})["id"]
        _until("sandboxed", lambda: bool(site.sandboxes()), site, 120)
        site.kill_server()
        took = _until("cleaned", lambda: not site.sandboxes() and not site.workspaces(), site, 40)

        server = site.start_server()
        token = admin_token(server)
        run = call(server, "GET", f"/api/runs/{run_id}", token)

        (repo / "more.txt").write_text("next\n")
        (repo / ".bastion" / "pipeline.yml").write_text(SLOW.replace("sleep 120", "true"))
        commit_all(repo, "quick")
        next_id = call(server, "POST", "/api/runs", token, {"repo": "app", "branch": "main"})["id"]
        after = wait_for_run(server, token, next_id, timeout=120)
        verified = audit_verifies(site)
        logs = site.worker_logs()
    assert run["status"] == "error", run
    assert run["reason"].startswith("interrupted: the Bastion process running it stopped"), run
    assert [job["status"] for job in run["jobs"]] == ["error"]
    assert _lease_states(url, run_id) == ["interrupted"]
    assert took < SERVER_TIMEOUT + 20, logs  # the job itself would sleep 120 s
    assert "no word from the server" in logs
    assert after["status"] == "passed", (after, logs)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_live_server_keeps_a_job_longer_than_the_timeout(broker: str, tmp_path: Path) -> None:
    """The guard's other side: a server that answers keeps its job however long it runs."""
    (tmp_path / "src").mkdir()
    step = StepSpec("s", ("/bin/sh", "-c", "sleep 9; echo slept"), timeout_seconds=60)
    spec = JobSpec(
        run_id=5, job="long", steps=(step,), source=WorkspaceSource(str(tmp_path / "src"))
    )
    with celery_site(tmp_path, broker, f"sqlite:///{tmp_path / 'unused.db'}") as site:
        site.start_worker("--server-timeout", str(SERVER_TIMEOUT))
        config = CeleryConfig(broker, PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode()))
        executor = CeleryExecutor(config, secrets_for={})
        try:
            outcome = executor.submit(spec, lambda e: None).wait(120)
        finally:
            executor.shutdown()
        logs = site.worker_logs()
    assert outcome is not None, logs
    assert outcome.status is JobState.PASSED, (outcome, logs)
    assert "no word from the server" not in logs
