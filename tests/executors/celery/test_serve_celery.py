"""``bastion serve --executor celery`` and ``bastion run --executor celery`` (issue 15): the
jobs of a server's run and of a workstation's run go to a real ``bastion worker`` of the
trusted pool through a private Redis, their leases recorded in the run's database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.executors.celery import LeaseStore
from bastion.store import default_database_url, open_database
from tests.executors.celery.brokers import TOKENS, redis_server, start_worker, stop
from tests.executors.celery.served import celery_site
from tests.server.live_api import admin_token, call, wait_for_run, work_tree

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _leases(database_url: str) -> list[tuple[str, str]]:
    db = open_database(database_url)
    try:
        store = LeaseStore(db)
        return [
            (lease.job, lease.state) for w in store.workers() for lease in store.leases_of(w.name)
        ]
    finally:
        db.dispose()


def _ran(log: str, job: str) -> bool:
    """The worker log says the job was granted to it and ran."""
    return re.search(rf"job {job} \(\S+\): granted, running", log) is not None


def test_a_server_run_goes_to_the_pools_worker(redis: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with celery_site(tmp_path, redis, url) as site:
        site.start_worker()
        server = site.start_server()
        token = admin_token(server)
        repo = work_tree(tmp_path / "app")
        call(server, "POST", "/api/repositories", token, {"name": "app", "path": str(repo)})
        queued = call(server, "POST", "/api/runs", token, {"repo": "app", "branch": "main"})
        run = wait_for_run(server, token, queued["id"], timeout=120)
        logs = site.worker_logs()
    assert run["status"] == "passed", (run, server.stderr(), logs)
    assert _ran(logs, "hello"), logs
    assert _leases(url) == [("hello", "finished")]


def test_serve_refuses_a_broker_that_does_not_answer(tmp_path: Path) -> None:
    bastion = Path(sys.executable).with_name("bastion")
    env = {**os.environ, "BASTION_HOME": str(tmp_path / "home")}
    argv = [str(bastion), "serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--executor", "celery"]
    refused = subprocess.run(
        [*argv, "--broker", "redis://127.0.0.1:1/0"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    assert "does not answer" in refused.stderr
    missing = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert missing.returncode == 2
    assert "--executor celery needs --broker URL" in missing.stderr


def test_a_workstation_run_goes_to_the_trusted_pool(redis: str, tmp_path: Path) -> None:
    worker = start_worker(redis, "trusted", tmp_path / "worker")
    repo = work_tree(tmp_path / "app")
    home = tmp_path / "home"
    env = {**os.environ, "BASTION_HOME": str(home), "BASTION_WORKER_TOKEN": TOKENS["trusted"]}
    bastion = Path(sys.executable).with_name("bastion")
    try:
        done = subprocess.run(
            [str(bastion), "run", "-C", str(repo), "--executor", "celery", "--broker", redis],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        stop(worker)
    log = (tmp_path / "worker" / "worker.log").read_text()
    assert done.returncode == 0, done.stderr
    assert _ran(log, "hello"), log
    # No --db: the run and its lease stay in the project's own SQLite state.
    assert _leases(default_database_url(repo)) == [("hello", "finished")]
