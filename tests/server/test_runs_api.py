"""Repositories, runs and live logs through the API (issue 13): real git repositories, real
bubblewrap runs through the engine, recorded in the server's database."""

from __future__ import annotations

import asyncio
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.engine.history import list_runs as history_runs
from bastion.home import bastion_home
from bastion.server import (
    Accounts,
    Grant,
    Role,
    ScopeKind,
    ServerServices,
    ServerSettings,
    create_app,
)
from bastion.server.launcher import RunLauncher
from bastion.server.log_stream import stream_log
from bastion.server.repo_watch import TRIGGER_FILE, RepoWatcher
from bastion.server.runs import job_status
from bastion.server.triage import ServerSuppressions
from bastion.store import open_database, sqlite_url
from tests.server.conftest import Clock, ListSink, Server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PIPELINE = """\
name: tiny
on: [push]
jobs:
  hello:
    steps:
      - name: talk
        run: echo first line; sleep 2; echo second line
"""
SLOW = PIPELINE.replace("echo first line; sleep 2; echo second line", "echo go; sleep 60")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def work_tree(path: Path, pipeline: str = PIPELINE) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    (path / ".bastion").mkdir()
    (path / ".bastion" / "pipeline.yml").write_text(pipeline)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "pipeline")
    return path


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    """A server that runs for real: a launcher over its database, two workers."""
    db = open_database(sqlite_url(tmp_path / "server.db"))
    clock, audit = Clock(), ListSink()
    launcher = RunLauncher(db, bastion_home(), ServerSuppressions(db, clock), concurrency=2)
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    app = create_app(settings, ServerServices(db, audit, clock, launcher=launcher))
    client = TestClient(app, base_url="http://testserver")
    made = Server(client, db, audit, clock, Accounts(db, settings, clock), settings)
    made.add_user("root", Role.ADMIN)
    made.login("root")
    try:
        yield made
    finally:
        launcher.close()
        client.close()
        db.dispose()


def launcher_of(server: Server) -> RunLauncher:
    launcher = server.client.app.state.bastion.services.launcher  # type: ignore[attr-defined]
    assert isinstance(launcher, RunLauncher)
    return launcher


def register(server: Server, name: str, path: Path, **extra: object) -> dict[str, object]:
    response = server.client.post(
        "/api/repositories",
        json={"name": name, "path": str(path), **extra},
        headers={"X-CSRF-Token": server.csrf()},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def trigger(server: Server, body: dict[str, str]) -> int:
    response = server.client.post("/api/runs", json=body, headers={"X-CSRF-Token": server.csrf()})
    assert response.status_code == 202, response.text
    run_id: int = response.json()["id"]
    return run_id


def sse_lines(text: str) -> list[tuple[str, str]]:
    """(id, data) of every message event."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields and "id" in fields:
            events.append((fields["id"], fields["data"]))
    return events


def test_a_triggered_run_executes_and_is_recorded_in_the_server_database(
    live: Server, tmp_path: Path
) -> None:
    repo = work_tree(tmp_path / "app")
    register(live, "app", repo)
    run_id = trigger(live, {"repo": "app", "branch": "main"})
    assert launcher_of(live).wait(run_id, 120)
    shown = live.client.get(f"/api/runs/{run_id}").json()
    assert (shown["status"], shown["trust"], shown["ref"]) == (
        "passed",
        "trusted",
        "refs/heads/main",
    )
    assert shown["commit"] == git(repo, "rev-parse", "HEAD")
    assert [j["name"] for j in shown["jobs"]] == ["hello"]
    assert shown["jobs"][0]["steps"][0]["exit_code"] == 0
    # The records `bastion runs list` reads, in the server's database.
    assert [(r["id"], r["status"], r["repo"]) for r in history_runs(live.db)] == [
        (run_id, "passed", "app")
    ]
    listed = live.client.get("/api/runs", params={"repo": "app", "status": "passed"}).json()
    assert [r["id"] for r in listed["runs"]] == [run_id]
    # The whole log, then a resume after the first line with Last-Event-ID.
    log = live.client.get(f"/api/runs/{run_id}/jobs/hello/log")
    assert log.headers["content-type"].startswith("text/event-stream")
    events = sse_lines(log.text)
    assert [data for _id, data in events][-2:] == ['"first line"', '"second line"']
    first_id = next(i for i, data in events if data == '"first line"')
    resumed = live.client.get(
        f"/api/runs/{run_id}/jobs/hello/log", headers={"Last-Event-ID": first_id}
    )
    assert [data for _id, data in sse_lines(resumed.text)] == ['"second line"']
    assert "event: end" in resumed.text
    # A re-run: the same commit, a new run.
    again = live.client.post(
        f"/api/runs/{run_id}/rerun", headers={"X-CSRF-Token": live.csrf()}
    ).json()
    assert launcher_of(live).wait(again["id"], 120)
    assert live.client.get(f"/api/runs/{again['id']}").json()["commit"] == shown["commit"]
    page = live.client.get(f"/runs/{run_id}")
    assert "<svg" in page.text
    assert "<script" not in page.text


def test_live_log_lines_arrive_while_the_job_runs(live: Server, tmp_path: Path) -> None:
    register(live, "app", work_tree(tmp_path / "app"))
    run_id = trigger(live, {"repo": "app", "branch": "main"})
    deadline = time.monotonic() + 60
    while job_status(live.db, run_id, "hello") != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    record = live.client.get(f"/api/runs/{run_id}").json()
    log_path = Path(str(bastion_home() / "server" / "logs" / str(run_id) / "hello.log"))

    async def first_line() -> tuple[str, str | None]:
        stream = stream_log(log_path, 0, lambda: job_status(live.db, run_id, "hello"), poll=0.05)
        async for event in stream:
            if "first line" in event:
                return event, job_status(live.db, run_id, "hello")
        raise AssertionError("the stream ended without the first line")

    event, status_then = asyncio.run(first_line())
    assert record["status"] == "running"
    assert status_then == "running"  # delivered before the job printed its last line
    assert event.startswith("id: ")
    assert launcher_of(live).wait(run_id, 120)


def test_a_running_run_is_cancelled(live: Server, tmp_path: Path) -> None:
    register(live, "app", work_tree(tmp_path / "app", SLOW))
    run_id = trigger(live, {"repo": "app", "branch": "main"})
    deadline = time.monotonic() + 60
    while job_status(live.db, run_id, "hello") != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    cancelled = live.client.post(
        f"/api/runs/{run_id}/cancel", headers={"X-CSRF-Token": live.csrf()}
    )
    assert cancelled.status_code == 202, cancelled.text
    assert launcher_of(live).wait(run_id, 60)
    assert live.client.get(f"/api/runs/{run_id}").json()["status"] == "cancelled"


def test_a_push_to_the_registered_bare_repository_starts_a_run(
    live: Server, tmp_path: Path
) -> None:
    source = work_tree(tmp_path / "work")
    bare = tmp_path / "app.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    assert register(live, "app", bare)["hook_installed"] is True
    watcher = RepoWatcher(live.client.app.state.bastion.repositories, launcher_of(live))  # type: ignore[attr-defined]
    assert watcher.check_once() == []  # heads at registration are taken as seen
    (source / "README").write_text("hello\n")
    git(source, "add", "README")
    git(source, "commit", "-q", "-m", "readme")
    git(source, "push", "-q", str(bare), "main")
    assert (bare / TRIGGER_FILE).exists()  # the hook ran
    (started,) = watcher.check_once()
    assert launcher_of(live).wait(started, 120)
    shown = live.client.get(f"/api/runs/{started}").json()
    assert (shown["event"], shown["trust"], shown["status"]) == ("push", "trusted", "passed")
    assert shown["commit"] == git(source, "rev-parse", "HEAD")


@pytest.mark.parametrize(
    "hostile",
    ["relative/path", "/tmp/../etc", "LINK", "NOT_GIT", "/no/such/dir", "INSIDE"],
)
def test_a_hostile_repository_path_is_refused(live: Server, tmp_path: Path, hostile: str) -> None:
    repo = work_tree(tmp_path / "real")
    (tmp_path / "link").symlink_to(repo)
    (tmp_path / "plain").mkdir()
    (repo / "sub").mkdir()
    path = {
        "LINK": str(tmp_path / "link"),
        "NOT_GIT": str(tmp_path / "plain"),
        "INSIDE": str(repo / "sub"),
    }.get(hostile, hostile)
    response = live.client.post(
        "/api/repositories",
        json={"name": "x", "path": path},
        headers={"X-CSRF-Token": live.csrf()},
    )
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text


def test_a_viewer_cannot_trigger_and_a_stranger_cannot_see(live: Server, tmp_path: Path) -> None:
    register(live, "app", work_tree(tmp_path / "app"))
    live.add_user("viewer", None)
    live.accounts.grant("viewer", Grant(Role.VIEWER, ScopeKind.REPOSITORY, "app"))
    live.add_user("dev", None)
    live.accounts.grant("dev", Grant(Role.DEVELOPER, ScopeKind.REPOSITORY, "other"))
    for name, expected in (("viewer", 403), ("dev", 404)):
        live.login(name)
        response = live.client.post(
            "/api/runs",
            json={"repo": "app", "branch": "main"},
            headers={"X-CSRF-Token": live.csrf()},
        )
        assert response.status_code == expected, (name, response.text)
    assert history_runs(live.db) == []
