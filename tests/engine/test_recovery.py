"""Runs whose process died are closed; live ones are left alone."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bastion.audit import AuditLog, Ed25519NoteSigner
from bastion.engine.model import RunContext, Trust
from bastion.engine.recorder import create_run
from bastion.engine.recovery import (
    INTERRUPTED,
    hold_run_lock,
    recover_interrupted_runs,
    scratch_prefix,
)
from bastion.store import JobRecord, RunRecord, open_database

CONTEXT = RunContext("repo", None, None, "local", Trust.DIRTY)


def test_only_unlocked_runs_are_closed(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    state = tmp_path / "state"
    log = AuditLog(db, Ed25519NoteSigner.generate("test.local/audit"), witness=None)

    def audit() -> AuditLog:
        return log

    dead, live, fresh = (create_run(db, CONTEXT, "p", "") for _ in range(3))
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    with db.session() as session:
        for run_id in (dead, live):
            run = session.get(RunRecord, run_id)
            assert run is not None
            run.status = "running"
            run.created_at = long_ago
        session.add(JobRecord(run_id=dead, name="build", kind="steps", status="running"))
        session.add(JobRecord(run_id=dead, name="lint", kind="steps", status="passed"))
    leftover = Path(tempfile.mkdtemp(prefix=scratch_prefix(state, dead)))
    (leftover / "ws").mkdir()
    (leftover / "ws" / "file").write_text("x")
    (leftover / "ws").chmod(0o500)  # a job made its workspace read-only
    with hold_run_lock(state, live):
        assert recover_interrupted_runs(db, state, audit) == [dead]
    assert not leftover.exists()
    with db.session() as session:
        run = session.get(RunRecord, dead)
        assert run is not None
        assert (run.status, run.reason) == ("error", INTERRUPTED)
        jobs = {job.name: job.status for job in run.jobs}
        assert jobs == {"build": "error", "lint": "passed"}
        live_run = session.get(RunRecord, live)
        fresh_run = session.get(RunRecord, fresh)
        assert live_run is not None
        assert fresh_run is not None
        assert live_run.status == "running"
        assert fresh_run.status == "queued"  # within the grace period, not yet locked
    # once its process is gone, the live run is closed too
    assert recover_interrupted_runs(db, state, audit) == [live]
    # each closing is in the audit log with its reason, and sealed by a checkpoint
    events = [(e.event.action, e.event.subject, e.event.details) for e in log.entries()]
    assert events == [
        ("run.interrupted", f"run/{dead}", {"reason": INTERRUPTED}),
        ("run.interrupted", f"run/{live}", {"reason": INTERRUPTED}),
    ]
    checkpoint = log.latest_checkpoint()
    assert checkpoint is not None
    assert checkpoint.size == 2
    assert log.verify().ok
    db.dispose()


def test_nothing_to_recover_opens_no_audit_log(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'state.db'}")

    def audit() -> AuditLog:
        raise AssertionError("the audit log was opened with no run to close")

    assert recover_interrupted_runs(db, tmp_path / "state", audit) == []
    db.dispose()


def test_in_a_shared_database_another_machines_run_is_never_closed(tmp_path: Path) -> None:
    """``bastion run --db``: a run another workstation is running has its lock on that
    machine's disk; here it looks unlocked, and closing it would kill a live run's record.
    Only a run this state locked (and whose process died) is closed."""
    db = open_database(f"sqlite:///{tmp_path / 'shared.db'}")
    state = tmp_path / "state"
    log = AuditLog(db, Ed25519NoteSigner.generate("test.local/audit"), witness=None)
    theirs, ours = (create_run(db, CONTEXT, "p", "") for _ in range(2))
    with db.session() as session:
        for run_id in (theirs, ours):
            run = session.get(RunRecord, run_id)
            assert run is not None
            run.status = "running"
            run.created_at = datetime.now(UTC) - timedelta(minutes=5)
    # Our process died holding the lock: its file stays behind, unlocked, as after kill -9.
    (state / "locks").mkdir(parents=True)
    (state / "locks" / f"run-{ours}.lock").write_text("")
    assert recover_interrupted_runs(db, state, lambda: log, shared=True) == [ours]
    with db.session() as session:
        run = session.get(RunRecord, theirs)
        assert run is not None
        assert run.status == "running"
    # The project's own SQLite has no other writer: there the same run is closed.
    assert recover_interrupted_runs(db, state, lambda: log) == [theirs]
    db.dispose()
