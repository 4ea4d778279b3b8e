"""An observer that writes a run's story into the tamper-evident audit log.

Events are buffered during the run and appended in one batch when it ends (one transaction,
not one per job), then a signed checkpoint is written: the issue asks for one after every
run. Artifacts, signatures and secret releases are appended by :meth:`AuditTrail.record`.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bastion.audit import Action, AuditEvent, AuditLog, Outcome, open_local_log
from bastion.engine.events import CachePoisoned, Event, JobChanged, RunFinished, RunStarted
from bastion.engine.model import JobState, RunState
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
    """Collects audit events of one run; :meth:`close` appends them and checkpoints."""

    def __init__(self, log: AuditLog, actor: str) -> None:
        self.log = log
        self.actor = actor
        self.subject = "run"
        self._events: list[AuditEvent] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.subject = f"run/{event.run_id}"
            self._add(
                Action.RUN_STARTED,
                self.subject,
                Outcome.SUCCESS,
                event.at,
                {
                    "repo": event.context.repo,
                    "commit": event.context.commit,
                    "ref": event.context.ref,
                    "event": event.context.event,
                    "trust": event.context.trust.value,
                    "pipeline": event.pipeline_source,
                    "pipeline_digest": event.pipeline_digest,
                    "jobs": list(event.jobs),
                },
            )
        elif isinstance(event, JobChanged) and event.state.final:
            subject = f"{self.subject}/job/{event.job}"
            outcome = _JOB_OUTCOME.get(event.state, Outcome.FAILURE)
            details = {"state": event.state.value, "reason": event.reason}
            if event.verdict is not None:
                self._add(
                    Action.GATE_DECIDED,
                    subject,
                    outcome,
                    event.at,
                    {
                        "passed": event.verdict.passed,
                        "reasons": list(event.verdict.reasons)[:20],
                        "findings": event.verdict.summary.get("findings"),
                    },
                )
            self._add(Action.JOB_FINISHED, subject, outcome, event.at, details)
        elif isinstance(event, CachePoisoned):
            subject = f"{self.subject}/job/{event.job}"
            self._add(Action.CACHE_POISONED, subject, Outcome.DENIED, event.at, event.details)
        elif isinstance(event, RunFinished):
            self._add(
                Action.RUN_FINISHED,
                self.subject,
                _RUN_OUTCOME[event.state],
                event.at,
                {"state": event.state.value},
            )

    def _add(
        self, action: Action, subject: str, outcome: Outcome, at: float, details: Mapping[str, Any]
    ) -> None:
        self._events.append(
            AuditEvent(self.actor, action.value, subject, outcome, details, _when(at))
        )

    def record(self, events: Iterable[AuditEvent]) -> None:
        """Add events that happen outside the scheduler (artifacts, signatures)."""
        self._events.extend(events)

    def close(self) -> None:
        """Append everything collected and write a signed checkpoint."""
        if self._events:
            self.log.append_many(self._events)
            self._events.clear()
        self.log.checkpoint()


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
