"""``bastion run --executor celery`` (issue 15): its state in a shared PostgreSQL with
``--db``, and the leases of a run killed with -9 ended as interrupted by the next run.

Real ``bastion worker`` and ``bastion run`` processes on a private Redis; the database is a
private one made (and dropped) on the machine's PostgreSQL, over its Unix socket.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from bastion.executors.celery import LeaseStore
from bastion.store import RunRecord, default_database_url, open_database
from tests.conftest import POSTGRES
from tests.executors.celery.brokers import TOKENS, redis_server, start_worker, stop
from tests.server.live_api import work_tree

pytestmark = pytest.mark.integration

BASTION = str(Path(sys.executable).with_name("bastion"))
TWO_JOBS = """\
name: two
on: [push]
jobs:
  slow:
    steps:
      - name: wait
        run: echo go; sleep 120
  quick:
    steps:
      - name: talk
        run: echo done
"""


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def worker(redis: str, tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "worker"
    process = start_worker(redis, "trusted", home)
    yield home
    stop(process)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of this test's own on the machine's PostgreSQL, dropped after."""
    name = f"bastion_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@/{name}?host=/var/run/postgresql"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "BASTION_HOME": str(tmp_path / "home"),
        "BASTION_WORKER_TOKEN": TOKENS["trusted"],
    }


def _run(repo: Path, redis: str, env: dict[str, str], *extra: str) -> list[str]:
    return [BASTION, "run", "-C", str(repo), "--executor", "celery", "--broker", redis, *extra]


def _leases(database_url: str) -> list[tuple[int, str, str]]:
    db = open_database(database_url)
    try:
        store = LeaseStore(db)
        return sorted(
            (lease.run_id, lease.job, lease.state)
            for w in store.workers()
            for lease in store.leases_of(w.name)
        )
    finally:
        db.dispose()


def _runs(database_url: str) -> list[tuple[int, str]]:
    db = open_database(database_url)
    try:
        with db.session() as session:
            return [(r.id, r.status) for r in session.scalars(select(RunRecord))]
    finally:
        db.dispose()


def _wait_granted(worker_log: Path, job: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker_log.exists() and re.search(
            rf"job {job} \(\S+\): granted", worker_log.read_text()
        ):
            return
        time.sleep(0.3)
    raise AssertionError(f"the worker never ran {job}: {worker_log.read_text()}")


def test_run_state_and_leases_in_a_shared_postgresql(
    redis: str, worker: Path, tmp_path: Path, postgres_url: str
) -> None:
    repo = work_tree(tmp_path / "app")
    done = subprocess.run(
        _run(repo, redis, _env(tmp_path), "--db", postgres_url),
        env=_env(tmp_path), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _runs(postgres_url) == [(1, "passed")]
    assert _leases(postgres_url) == [(1, "hello", "finished")]
    assert _runs(default_database_url(repo)) == []  # nothing of it in the project's SQLite


def test_db_that_is_no_database_url_is_a_usage_error(tmp_path: Path) -> None:
    repo = work_tree(tmp_path / "app")
    env = _env(tmp_path)
    done = subprocess.run(
        _run(repo, "redis://127.0.0.1:1/0", env, "--db", "mongodb://db/bastion"),
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "--db mongodb://" in done.stderr
    assert "Traceback" not in done.stderr


def test_leases_of_a_run_killed_with_sigkill_end_as_interrupted(
    redis: str, worker: Path, tmp_path: Path
) -> None:
    repo = work_tree(tmp_path / "app", TWO_JOBS)
    env = _env(tmp_path)
    killed = subprocess.Popen(
        _run(repo, redis, env, "--job", "slow"),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_granted(worker / "worker.log", "slow")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
    state = default_database_url(repo)
    assert _leases(state) == [(1, "slow", "running")]  # what the kill leaves behind
    after = subprocess.run(
        _run(repo, redis, env, "--job", "quick"),
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert after.returncode == 0, after.stderr
    assert "run 1 was interrupted" in after.stderr
    assert _runs(state) == [(1, "error"), (2, "passed")]
    assert _leases(state) == [(1, "slow", "interrupted"), (2, "quick", "finished")]
