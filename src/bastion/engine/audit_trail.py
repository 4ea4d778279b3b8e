"""An observer that writes a run's story into the tamper-evident audit log as it happens.

Each event is appended in its own committed transaction the moment it is reported, before
the action it records goes on (a group reported together, such as an artifact and its
signature, shares one). Nothing waits in memory: a run killed with ``kill -9`` leaves every
event up to that moment in the log, and the recovery that closes it appends
``run.interrupted`` (:mod:`bastion.engine.recovery`). Signed checkpoints are written every
``checkpoint_every`` events or ``checkpoint_seconds``, and when the run is sealed.

A log that cannot be written raises :class:`~bastion.errors.StoreError` (exit 3) naming the
database, from the thread doing the action, so the run stops instead of going on unlogged.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bastion.audit import Action, AuditEvent, AuditLog, Outcome, open_local_log
from bastion.engine.events import CachePoisoned, Event, JobChanged, RunFinished, RunStarted
from bastion.engine.model import JobState, RunContext, RunId, RunState
from bastion.errors import StoreError
from bastion.store import open_database

__all__ = ["AuditTrail", "record_actions", "user_actor"]

_JOB_OUTCOME = {
    JobState.PASSED: Outcome.SUCCESS,
    JobState.FAILED: Outcome.FAILURE,
    JobState.BLOCKED: Outcome.DENIED,
    JobState.ERROR: Outcome.ERROR,
}
_RUN_OUTCOME = {
    RunState.PASSED: Outcome.SUCCESS,
    RunState.FAILED: Outcome.FAILURE,
    RunState.BLOCKED: Outcome.DENIED,
    RunState.ERROR: Outcome.ERROR,
    RunState.CANCELLED: Outcome.FAILURE,
}


def _when(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class AuditTrail:
    """Appends the audit events of one run as they happen; :meth:`seal` checkpoints the end."""

    def __init__(
        self,
        log: AuditLog,
        actor: str,
        *,
        checkpoint_every: int = 100,
        checkpoint_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.actor = actor
        self.subject = "run"
        self._every = checkpoint_every
        self._seconds = checkpoint_seconds
        self._clock = clock
        self._lock = threading.Lock()  # the scheduler's thread and the preparing one append
        self._unsealed = 0
        self._sealed_at = clock()
        self._broken = False
        self._began = False

    def begin(
        self,
        run_id: RunId,
        context: RunContext,
        pipeline: tuple[str, str],
        jobs: Sequence[str],
        at: float,
    ) -> None:
        """Record ``run.started`` now, before secrets are released or any job starts.

        ``pipeline`` is the file's (source, digest).
        """
        self._began = True
        self.subject = f"run/{run_id}"
        details = {
            "repo": context.repo,
            "commit": context.commit,
            "ref": context.ref,
            "event": context.event,
            "trust": context.trust.value,
            "pipeline": pipeline[0],
            "pipeline_digest": pipeline[1],
            "jobs": list(jobs),
        }
        self._add(Action.RUN_STARTED, self.subject, Outcome.SUCCESS, at, details)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if not self._began:  # the engine may have begun the trail before the scheduler
                source = (event.pipeline_source, event.pipeline_digest)
                self.begin(event.run_id, event.context, source, event.jobs, event.at)
        elif isinstance(event, JobChanged):
            self._job_changed(event)
        elif isinstance(event, CachePoisoned):
            subject = f"{self.subject}/job/{event.job}"
            self._add(Action.CACHE_POISONED, subject, Outcome.DENIED, event.at, event.details)
        elif isinstance(event, RunFinished):
            details = {"state": event.state.value}
            self._add(
                Action.RUN_FINISHED, self.subject, _RUN_OUTCOME[event.state], event.at, details
            )

    def _job_changed(self, event: JobChanged) -> None:
        subject = f"{self.subject}/job/{event.job}"
        if event.state is JobState.RUNNING:
            self._add(Action.JOB_STARTED, subject, Outcome.SUCCESS, event.at, {})
            return
        if not event.state.final:
            return
        outcome = _JOB_OUTCOME.get(event.state, Outcome.FAILURE)
        finished = AuditEvent(
            self.actor,
            Action.JOB_FINISHED.value,
            subject,
            outcome,
            {"state": event.state.value, "reason": event.reason},
            _when(event.at),
        )
        if event.verdict is None:
            self.record([finished])
            return
        decided = AuditEvent(
            self.actor,
            Action.GATE_DECIDED.value,
            subject,
            outcome,
            {
                "passed": event.verdict.passed,
                "reasons": list(event.verdict.reasons)[:20],
                "findings": event.verdict.findings,
            },
            _when(event.at),
        )
        # The decision and the job's end are one fact: one transaction.
        self.record([decided, finished])

    def _add(
        self, action: Action, subject: str, outcome: Outcome, at: float, details: Mapping[str, Any]
    ) -> None:
        self.record([AuditEvent(self.actor, action.value, subject, outcome, details, _when(at))])

    def record(self, events: Iterable[AuditEvent]) -> None:
        """Append ``events`` now, in one committed transaction (artifacts, signatures, secrets).

        Raises StoreError naming the database when the log cannot be written; the caller's
        action must not go on.
        """
        batch = list(events)
        if not batch:
            return
        with self._lock, self._writing():
            self.log.append_many(batch)
            self._unsealed += len(batch)
            if self._unsealed >= self._every or self._clock() - self._sealed_at >= self._seconds:
                self._checkpoint()

    def seal(self) -> None:
        """Write a signed checkpoint over everything appended (nothing when the log broke)."""
        if self._broken:
            return  # the error that broke it is already on its way to the user
        with self._lock, self._writing():
            self._checkpoint()

    def _checkpoint(self) -> None:
        self.log.checkpoint()
        self._unsealed = 0
        self._sealed_at = self._clock()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Name the database when it refuses a write, and remember that it did."""
        try:
            yield
        except StoreError as exc:
            self._broken = True
            raise StoreError(
                f"cannot write the audit log in {self._where()}: {exc.message}",
                hint="make the state database writable (disk space, permissions, server); "
                "the run stopped before its next action rather than go on unlogged",
            ) from exc

    def _where(self) -> str:
        return self.log.db.engine.url.render_as_string(hide_password=True)


def record_actions(events: Sequence[AuditEvent], *, home: Path) -> None:
    """Append actions taken outside a run (key changes, verifications) and checkpoint.

    They concern the user's keys and artifacts, not one repository, so they go to the
    user's own log, ``home/audit.db`` (or ``$BASTION_DATABASE_URL`` when a shared database
    is configured), signed with the checkpoint key under ``home``. Check it with
    ``bastion audit verify --db sqlite:///<home>/audit.db``.
    """
    url = os.environ.get("BASTION_DATABASE_URL") or f"sqlite:///{home / 'audit.db'}"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = open_database(url)
    try:
        log, _created = open_local_log(db, home)
        log.append_many(events)
        log.checkpoint()
    finally:
        db.dispose()


def user_actor() -> str:
    """The person at this terminal, as an audit actor."""
    return f"user:{getpass.getuser()}"
