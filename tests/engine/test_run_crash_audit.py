"""Issue 21 §1: a ``bastion run`` killed with ``kill -9`` leaves its story in the audit log.

A real process, real bubblewrap and a real vault secret: the run is killed while its second
job (which received the secret) sleeps. Whatever was reported until then must already be in
the log, because each event is committed when it happens; the next ``bastion runs list``
closes the run and appends ``run.interrupted``; ``bastion audit verify`` passes.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bastion.audit import AuditEntry, AuditLog
from bastion.engine.recovery import INTERRUPTED
from bastion.store import open_database
from tests.support import BASTION, git, run_bastion

pytestmark = pytest.mark.integration

PIPELINE = """
jobs:
  first:
    steps:
      - run: echo hi
  second:
    needs: [first]
    secrets: [TOKEN]
    steps:
      - run: sleep 60
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private Bastion home and vault key for this test."""
    env = {
        **os.environ,
        "BASTION_HOME": str(tmp_path / "home"),
        "BASTION_VAULT_KEK": base64.b64encode(os.urandom(32)).decode(),
    }
    env.pop("BASTION_DATABASE_URL", None)
    return env


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A committed project whose second job needs a vault secret and sleeps."""
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(PIPELINE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    done = run_bastion(
        "secrets",
        "set",
        "TOKEN",
        "--repo",
        str(repo),
        "--trust",
        "local",
        env=env,
        stdin=base64.b64encode(os.urandom(24)).decode(),
    )
    assert done.returncode == 0, done.stderr
    return repo


def _entries(repo: Path) -> list[AuditEntry]:
    """The project's audit events, read straight from its database."""
    db_path = repo / ".bastion" / "state" / "bastion.db"
    if not db_path.exists():
        return []
    db = open_database(f"sqlite:///{db_path}", migrate=False)
    try:
        # The run opens the store before its audit log, whose own chain makes these tables.
        if not inspect(db.engine).has_table("audit_events"):
            return []
        return list(AuditLog(db, witness=None).entries())
    finally:
        db.dispose()


def _facts(entries: list[AuditEntry]) -> list[tuple[str, str]]:
    return [(e.event.action, e.event.subject) for e in entries]


@pytest.fixture
def killed_run(repo: Path, env: dict[str, str], tmp_path: Path) -> Iterator[list[AuditEntry]]:
    """Start ``bastion run``, kill -9 it while ``second`` runs; yield the log right after."""
    stderr = (tmp_path / "run.stderr").open("w")
    process = subprocess.Popen(
        [BASTION, "run", "-C", str(repo)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,  # so the cleanup below can stop whatever it left
    )
    try:
        deadline = time.monotonic() + 120
        while not any(
            fact[0] == "job.started" and fact[1].endswith("/job/second")
            for fact in _facts(_entries(repo))
        ):
            assert process.poll() is None, (tmp_path / "run.stderr").read_text()
            assert time.monotonic() < deadline, "the second job never started"
            time.sleep(0.2)
        time.sleep(0.5)  # well into the sleep
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        yield _entries(repo)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.killpg(process.pid, signal.SIGKILL) if _group_alive(process.pid) else None
        stderr.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_kill_9_leaves_every_event_and_recovery_closes_the_run(
    repo: Path, env: dict[str, str], killed_run: list[AuditEntry]
) -> None:
    facts = _facts(killed_run)
    run_subject = next(subject for action, subject in facts if action == "run.started")
    released = [e.event.details for e in killed_run if e.event.action == "secret.released"]
    # Written as they happened, not at the end the run never reached.
    assert released == [{"job": "second", "run": run_subject.removeprefix("run/")}]
    assert facts.index(("run.started", run_subject)) < facts.index(
        ("secret.released", "secret/TOKEN")
    )
    assert ("job.finished", f"{run_subject}/job/first") in facts
    assert ("job.started", f"{run_subject}/job/second") in facts
    assert not any(action in ("run.finished", "run.interrupted") for action, _ in facts)

    listed = run_bastion("runs", "list", "-C", str(repo), "--json", env=env)
    assert listed.returncode == 0, listed.stderr

    after = _entries(repo)
    assert after[: len(killed_run)] == killed_run  # nothing rewritten
    closing = after[len(killed_run) :]
    assert [(e.event.action, e.event.subject) for e in closing] == [
        ("run.interrupted", run_subject)
    ]
    assert closing[0].event.details == {"reason": INTERRUPTED}
    verified = run_bastion("audit", "verify", "-C", str(repo), env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{len(after)} events" in verified.stdout + verified.stderr


def test_an_unwritable_audit_log_stops_the_run_before_any_job(
    repo: Path, env: dict[str, str]
) -> None:
    listed = run_bastion("runs", "list", "-C", str(repo), env=env)  # creates the database
    assert listed.returncode == 0, listed.stderr
    db_path = repo / ".bastion" / "state" / "bastion.db"
    db = open_database(f"sqlite:///{db_path}")
    AuditLog(db, witness=None)  # the audit log's own chain makes its tables, not the store's
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    db.dispose()

    done = run_bastion("run", "-C", str(repo), env=env)

    assert done.returncode == 3, done.stderr
    assert "cannot write the audit log" in done.stderr
    assert str(db_path) in done.stderr
    assert "Traceback" not in done.stderr
    assert not list((repo / ".bastion" / "state").glob("logs/*/*.log"))  # no job ran
