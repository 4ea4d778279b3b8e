"""``bastion runs cancel``: stop a run that another Bastion process is carrying out.

The process running a run holds its lock (:func:`~bastion.engine.recovery.hold_run_lock`)
and wrote its pid into the lock file; the pid is believed only while the lock is held, and
the signal goes through a pidfd opened before the lock is checked again, so a pid the
kernel gave to another process meanwhile is never signalled. SIGINT first: the process
cancels the way Ctrl-C does (every job stopped, every sandbox removed, the run recorded as
cancelled, exit 130). If it still holds the lock after the grace period, SIGTERM ends it;
the run is then closed as interrupted by the next recovery.
"""

from __future__ import annotations

import enum
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from bastion.engine.history import get_run
from bastion.engine.recovery import lock_holder
from bastion.errors import EngineError, UsageError
from bastion.store import Database

__all__ = ["CancelOutcome", "RunStopped", "cancel_run"]

_POLL = 0.1


class RunStopped(enum.StrEnum):
    """How the run's process ended."""

    CANCELLED = "cancelled"  # it heeded SIGINT and cleaned up
    TERMINATED = "terminated"  # it needed SIGTERM


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """The run that was stopped, the process that ran it, and how it ended."""

    run_id: int
    pid: int
    stopped: RunStopped


def cancel_run(
    db: Database, state: Path, run_id: int, *, grace: float = 10.0, term_wait: float = 5.0
) -> CancelOutcome:
    """Signal the process carrying out ``run_id`` and wait until it lets the run go.

    UsageError when the run does not exist or is not running; EngineError when even
    SIGTERM did not end it within ``term_wait`` seconds.
    """
    status = get_run(db, run_id)["status"]
    if status not in ("queued", "running"):
        raise UsageError(f"run {run_id} is not running (it is {status})", hint="nothing to do")
    pid = _holder(state, run_id)
    if pid is None:
        raise UsageError(
            f"run {run_id} is not running: no Bastion process holds it",
            hint="its process died; `bastion runs list` closes such runs as interrupted",
        )
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError as exc:
        raise UsageError(f"run {run_id} is not running: its process {pid} has ended") from exc
    try:
        # Checked again with the pidfd open: the pid now names that process or none.
        if lock_holder(state, run_id) != pid:
            raise UsageError(f"run {run_id} is not running: its process {pid} has ended")
        signal.pidfd_send_signal(pidfd, signal.SIGINT)
        if _released(state, run_id, grace):
            return CancelOutcome(run_id, pid, RunStopped.CANCELLED)
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        if _released(state, run_id, term_wait):
            return CancelOutcome(run_id, pid, RunStopped.TERMINATED)
    except ProcessLookupError:
        return CancelOutcome(run_id, pid, RunStopped.CANCELLED)  # it ended between two checks
    finally:
        os.close(pidfd)
    raise EngineError(
        f"run {run_id}: process {pid} still runs after SIGINT and SIGTERM",
        hint=f"kill -KILL {pid}; the run is then closed as interrupted",
    )


def _holder(state: Path, run_id: int) -> int | None:
    """The lock holder; a process that has just taken the lock may not have written its pid."""
    for _ in range(10):
        pid = lock_holder(state, run_id)
        if pid is not None:
            return pid
        time.sleep(_POLL)
    return None


def _released(state: Path, run_id: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lock_holder(state, run_id) is None:
            return True
        time.sleep(_POLL)
    return lock_holder(state, run_id) is None
