"""Helpers for the tests that talk to a real ``bastion serve`` (:mod:`tests.server.browser`):
an admin API token made in its database, API calls over loopback, and git work trees with a
pipeline to register."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bastion.server import FIRST_ADMIN, Accounts, Permission, ServerSettings
from bastion.server.clock import system_clock
from bastion.server.principal import TokenScope
from bastion.server.tokens import ApiTokens
from bastion.store import open_database
from tests.server.browser import LiveServer

PIPELINE = """\
name: tiny
on: [push]
jobs:
  hello:
    steps:
      - name: talk
        run: echo first line; sleep 2; echo second line
"""
SLOW = PIPELINE.replace("echo first line; sleep 2; echo second line", "echo go; sleep 120")
FINISHED = frozenset({"passed", "failed", "blocked", "cancelled", "error"})


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; its output."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_all(path: Path, message: str) -> None:
    """Commit everything in the work tree ``path`` as a test identity."""
    git(path, "add", "-A")
    git(path, "-c", "user.email=dev@example.com", "-c", "user.name=Dev", "commit", "-qm", message)


def work_tree(path: Path, pipeline: str = PIPELINE) -> Path:
    """A new git repository at ``path`` with one commit on main holding ``pipeline``."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".bastion").mkdir()
    (path / ".bastion" / "pipeline.yml").write_text(pipeline)
    commit_all(path, "pipeline")
    return path


def admin_token(server: LiveServer, days: int = 1) -> str:
    """An API token of the first admin with every permission, made in the server's database."""
    db = open_database(server.database_url)
    try:
        settings = ServerSettings("127.0.0.1", 8080, server.database_url)
        admin = Accounts(db, settings, system_clock).by_name(FIRST_ADMIN)
        scope = TokenScope(frozenset({"*"}), frozenset(Permission))
        _info, value = ApiTokens(db, settings, system_clock).create(admin.id, "tests", scope, days)
        return value
    finally:
        db.dispose()


def call(server: LiveServer, method: str, path: str, token: str, body: Any = None) -> Any:
    """An API call with ``token``; the JSON answer (AssertionError on an error status)."""
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.request(method, server.base_url + path, json=body, headers=headers)
    assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


def wait_for_run(server: LiveServer, token: str, run_id: int, timeout: float = 120) -> Any:
    """The run once it is over (AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = call(server, "GET", f"/api/runs/{run_id}", token)
        if run["status"] in FINISHED:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} not over after {timeout} s:\n{server.stderr()}")
