"""The audit trail writes each event when it happens and stops a run it cannot log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bastion.audit import AuditEvent, AuditLog, Ed25519NoteSigner
from bastion.engine.audit_trail import AuditTrail
from bastion.engine.events import JobChanged, RunFinished, RunStarted
from bastion.engine.model import JobState, RunContext, RunId, RunState, Trust
from bastion.errors import StoreError
from bastion.store import Database, open_database

CONTEXT = RunContext("repo", "c0ffee", "refs/heads/main", "local", Trust.LOCAL)
RUN = RunId(7)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(f"sqlite:///{tmp_path / 'state.db'}")


def _log(db: Database) -> AuditLog:
    return AuditLog(db, Ed25519NoteSigner.generate("test.local/audit"), witness=None)


def _started() -> RunStarted:
    return RunStarted(RUN, CONTEXT, "p.yml", "sha256:00", ("a",), {"a": ()}, {"a": "steps"}, 1.0)


def test_each_event_is_in_the_log_when_reported(db: Database) -> None:
    log = _log(db)
    trail = AuditTrail(log, "user:t", checkpoint_every=1000, clock=Clock())
    trail.begin(RUN, CONTEXT, ("p.yml", "sha256:00"), ("a",), 1.0)
    assert [e.event.action for e in log.entries()] == ["run.started"]
    trail(_started())  # the scheduler's own announcement is not logged twice
    trail(JobChanged(RUN, "a", JobState.RUNNING, 2.0))
    assert [e.event.action for e in log.entries()][-1] == "job.started"
    trail.record([AuditEvent("bastion", "secret.released", "secret/T", details={"job": "a"})])
    trail(JobChanged(RUN, "a", JobState.PASSED, 3.0))
    trail(RunFinished(RUN, RunState.PASSED, 4.0))
    assert [(e.event.action, e.event.subject) for e in log.entries()] == [
        ("run.started", "run/7"),
        ("job.started", "run/7/job/a"),
        ("secret.released", "secret/T"),
        ("job.finished", "run/7/job/a"),
        ("run.finished", "run/7"),
    ]
    assert log.latest_checkpoint() is None  # not yet due
    trail.seal()
    checkpoint = log.latest_checkpoint()
    assert checkpoint is not None
    assert checkpoint.size == 5


def test_checkpoints_every_n_events_and_every_interval(db: Database) -> None:
    log, clock = _log(db), Clock()
    trail = AuditTrail(log, "user:t", checkpoint_every=3, checkpoint_seconds=30.0, clock=clock)
    for _ in range(3):
        trail.record([AuditEvent("bastion", "test.event", "x")])
    first = log.latest_checkpoint()
    assert first is not None
    assert first.size == 3
    trail.record([AuditEvent("bastion", "test.event", "x")])
    assert log.latest_checkpoint() == first  # one event, a second later: not due
    clock.now = 31.0
    trail.record([AuditEvent("bastion", "test.event", "x")])
    second = log.latest_checkpoint()
    assert second is not None
    assert second.size == 5


def test_a_log_that_refuses_writes_stops_the_action_and_names_the_database(
    db: Database, tmp_path: Path
) -> None:
    log = _log(db)
    trail = AuditTrail(log, "user:t")
    trail.begin(RUN, CONTEXT, ("p.yml", "sha256:00"), ("a",), 1.0)
    with db.engine.begin() as connection:  # the database refuses every new event
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    with pytest.raises(StoreError) as caught:
        trail(JobChanged(RUN, "a", JobState.RUNNING, 2.0))
    assert caught.value.exit_code == 3
    assert str(tmp_path / "state.db") in caught.value.message
    assert "disk full" in caught.value.message
    trail.seal()  # a broken trail does not try again (the error is already raised)
    assert [e.event.action for e in log.entries()] == ["run.started"]
    assert log.latest_checkpoint() is None
