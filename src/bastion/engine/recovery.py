"""Runs whose Bastion process died (killed, crashed, machine rebooted) are found and closed.

While a run executes, its process holds an exclusive ``flock`` on
``<state>/locks/run-<id>.lock``; the kernel drops it when the process dies, however it died.
Before a new run starts (and when runs are listed), every run still recorded as queued or
running whose lock nobody holds is marked ``error`` with the reason, its unfinished jobs
too, and its scratch directory (workspaces of jobs that were cut off) is removed. Nothing
recorded is lost: finished jobs, logs and audit events stay as they were, because the run
appended each audit event when it happened (:mod:`bastion.engine.audit_trail`). Recovery
then appends ``run.interrupted`` with the reason and signs a checkpoint, so the dead run's
last events are sealed too and ``bastion audit verify`` passes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bastion.audit import Action, AuditEvent, AuditLog, Outcome
from bastion.store import Database, JobRecord, RunRecord

__all__ = [
    "INTERRUPTED",
    "hold_run_lock",
    "lock_holder",
    "recover_interrupted_runs",
    "scratch_prefix",
]

INTERRUPTED = "interrupted: the Bastion process running it stopped (killed or crashed)"
# A run is inserted a moment before its lock is taken; give it that moment.
_GRACE = timedelta(seconds=30)


def scratch_prefix(state: Path, run_id: int) -> str:
    """The temp-directory prefix of one run of one project (unique across projects)."""
    tag = hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:10]
    return f"bastion-run-{tag}-{run_id}-"


def _lock_path(state: Path, run_id: int) -> Path:
    return state / "locks" / f"run-{run_id}.lock"


def lock_holder(state: Path, run_id: int) -> int | None:
    """The pid of the live process holding the run's lock; None when no process holds it."""
    try:
        fd = os.open(_lock_path(state, run_id), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None  # nobody holds it: the run is not being carried out
    finally:
        os.close(fd)


@contextlib.contextmanager
def hold_run_lock(state: Path, run_id: int) -> Iterator[None]:
    """Hold the run's lock for the life of this process's work on it."""
    path = _lock_path(state, run_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Who holds it, for `bastion runs cancel`; only believed while the lock is held.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _abandoned(state: Path, run: RunRecord, now: datetime, *, shared: bool) -> bool:
    path = _lock_path(state, run.id)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        # In a database other machines write to, a run this state never locked is theirs:
        # their locks are on their disks, so its silence here proves nothing.
        return not shared and now - run.created_at > _GRACE
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live process holds it
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return True


def _remove_tree(path: Path) -> None:
    def make_writable(function: object, name: str, _info: object) -> None:
        parent = os.path.dirname(name)
        with contextlib.suppress(OSError):
            os.chmod(parent, stat.S_IRWXU)
            os.chmod(name, stat.S_IRWXU)
        with contextlib.suppress(OSError):
            if os.path.isdir(name) and not os.path.islink(name):
                shutil.rmtree(name, ignore_errors=True)
            else:
                os.unlink(name)

    shutil.rmtree(path, onerror=make_writable)


def recover_interrupted_runs(
    db: Database, state: Path, audit_log: Callable[[], AuditLog], *, shared: bool = False
) -> list[int]:
    """Close every abandoned run of this project; returns their ids.

    ``audit_log`` opens the log to append ``run.interrupted`` to; it is called only when a
    run is found, so listing runs creates no key. ``shared``: the database is shared with
    other machines (``bastion run --db``), so only runs whose lock file this state holds
    (runs started here) are judged; another machine's running run is never closed.
    """
    now = datetime.now(UTC)
    with db.session() as session:
        runs = session.scalars(
            select(RunRecord).where(RunRecord.status.in_(("queued", "running")))
        ).all()
    recovered = [run.id for run in runs if _abandoned(state, run, now, shared=shared)]
    if not recovered:
        return []
    # Logged before the runs are closed: a crash in between logs one twice, never none.
    log = audit_log()
    log.append_many(_interrupted_event(run_id, now) for run_id in recovered)
    log.checkpoint()
    _close(db, recovered, now)
    for run_id in recovered:
        for leftover in Path(tempfile.gettempdir()).glob(scratch_prefix(state, run_id) + "*"):
            _remove_tree(leftover)
    return recovered


def _interrupted_event(run_id: int, now: datetime) -> AuditEvent:
    return AuditEvent(
        "bastion",
        Action.RUN_INTERRUPTED.value,
        f"run/{run_id}",
        Outcome.ERROR,
        {"reason": INTERRUPTED},
        now,
    )


def _close(db: Database, run_ids: list[int], now: datetime) -> None:
    """Mark the runs and their unfinished jobs as error, interrupted."""
    with db.session() as session:
        for run in session.scalars(select(RunRecord).where(RunRecord.id.in_(run_ids))):
            run.status = "error"
            run.reason = INTERRUPTED
            run.finished_at = now
        unfinished = select(JobRecord).where(
            JobRecord.run_id.in_(run_ids), JobRecord.status.in_(("queued", "running"))
        )
        for job in session.scalars(unfinished):
            job.status = "error"
            job.reason = INTERRUPTED
            job.finished_at = now
