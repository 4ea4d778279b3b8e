"""``bastion serve`` carries out runs (issue 13): a repository registered through the API with
an admin token runs and passes; its secrets gate judges a planted credential and the finding is
recorded; SIGTERM cancels a run still going and records it; start-up writes the registered
repositories' hooks again."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.scanners.secrets.samples import SAMPLES, render
from bastion.server.repo_watch import HOOK_MARK, reinstall_hooks
from bastion.server.repositories import Repositories
from bastion.store import RunRecord, open_database, sqlite_url
from tests.server.browser import LiveServer, live_server
from tests.server.conftest import Clock
from tests.server.live_api import SLOW, admin_token, call, commit_all, wait_for_run, work_tree

SECRETS = "name: leaky\non: [push]\njobs:\n  secrets: {uses: bastion/secrets}\n"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[LiveServer]:
    root = tmp_path / "serve"
    root.mkdir()
    with live_server(root) as server:
        yield server


def test_a_registered_repository_runs_and_passes(running: LiveServer, tmp_path: Path) -> None:
    token = admin_token(running)
    repo = work_tree(tmp_path / "app")
    added = call(running, "POST", "/api/repositories", token, {"name": "app", "path": str(repo)})
    assert added["hook_installed"] is True
    queued = call(running, "POST", "/api/runs", token, {"repo": "app", "branch": "main"})
    run = wait_for_run(running, token, queued["id"])
    assert run["status"] == "passed", run
    assert [job["status"] for job in run["jobs"]] == ["passed"]
    assert run["trust"] == "trusted"


def test_a_secrets_gate_run_records_its_finding(running: LiveServer, tmp_path: Path) -> None:
    """Regression: a server's run must get the gate's report, never 'wrote no report'."""
    token = admin_token(running)
    repo = work_tree(tmp_path / "leaky", SECRETS)
    planted = render(SAMPLES["github-pat"][0], random.Random(13))  # generated, never live
    (repo / "settings.py").write_text(f"# left here by mistake\n{planted}\n")
    commit_all(repo, "settings")
    call(running, "POST", "/api/repositories", token, {"name": "leaky", "path": str(repo)})
    queued = call(running, "POST", "/api/runs", token, {"repo": "leaky", "branch": "main"})
    run = wait_for_run(running, token, queued["id"])
    assert (run["status"], run["findings"]) == ("blocked", 1), run["jobs"]
    assert "could not decide" not in run["jobs"][0]["reason"]
    found = call(running, "GET", "/api/findings?repository=leaky", token)
    assert [(f["rule_id"], f["path"], f["line"], f["open"]) for f in found] == [
        ("github-pat", "settings.py", 2, True)
    ]
    assert planted not in str(found)  # recorded redacted


def test_sigterm_cancels_a_run_still_going_and_records_it(
    running: LiveServer, tmp_path: Path
) -> None:
    token = admin_token(running)
    repo = work_tree(tmp_path / "slow", SLOW)
    call(running, "POST", "/api/repositories", token, {"name": "slow", "path": str(repo)})
    queued = call(running, "POST", "/api/runs", token, {"repo": "slow", "branch": "main"})
    _wait_running(running, token, queued["id"])
    assert running.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises it once shut down
    db = open_database(running.database_url)
    try:
        with db.session() as session:
            status = session.scalar(select(RunRecord.status).where(RunRecord.id == queued["id"]))
    finally:
        db.dispose()
    assert status == "cancelled"


def _wait_running(server: LiveServer, token: str, run_id: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if call(server, "GET", f"/api/runs/{run_id}", token)["status"] == "running":
            return
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never started:\n{server.stderr()}")


def test_hooks_are_written_again_at_start_except_a_foreign_one(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "server.db"))
    repositories = Repositories(db, Clock())
    mine, theirs = work_tree(tmp_path / "mine"), work_tree(tmp_path / "theirs")
    repositories.register("mine", str(mine), added_by="test")
    repositories.register("theirs", str(theirs), added_by="test")
    (theirs / ".git" / "hooks" / "post-receive").write_text("#!/bin/sh\necho their own\n")
    try:
        assert reinstall_hooks(repositories) == ["theirs: a post-receive hook of its own is there"]
    finally:
        db.dispose()
    assert HOOK_MARK in (mine / ".git" / "hooks" / "post-receive").read_text()
    assert "their own" in (theirs / ".git" / "hooks" / "post-receive").read_text()
