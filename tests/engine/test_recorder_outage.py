"""The recorder across a database outage (issue 15, fault 3): the changes it could not write
stay queued, in order, and are written once the database answers; none is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bastion.engine.events import JobChanged, RunFinished, RunStarted, StepChanged
from bastion.engine.history import get_run
from bastion.engine.model import JobState, RunContext, RunState, Trust
from bastion.engine.recorder import Recorder, create_run
from bastion.errors import StoreError
from bastion.store import Database, open_database

CONTEXT = RunContext("repo", "c0ffee", "refs/heads/main", "local", Trust.LOCAL)


class Outage:
    """Makes every statement on ``db`` fail while ``down`` is set, as a stopped server."""

    def __init__(self, db: Database) -> None:
        self.down = False
        event.listen(db.engine, "before_cursor_execute", self._refuse)

    def _refuse(self, *_args: Any) -> None:
        if self.down:
            raise OperationalError("statement", {}, ConnectionError("the database is away"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    yield database
    database.dispose()


def test_changes_made_while_the_database_is_away_are_written_later(
    db: Database, tmp_path: Path
) -> None:
    outage = Outage(db)
    run_id = create_run(db, CONTEXT, "p.yml", "sha256:abc")
    recorder = Recorder(db, tmp_path / "logs", flush_interval=0.01)
    recorder(
        RunStarted(run_id, CONTEXT, "p.yml", "sha256:abc", ("a",), {"a": ()}, {"a": "steps"}, 1.0)
    )
    outage.down = True
    recorder(JobChanged(run_id, "a", JobState.RUNNING, 2.0))
    recorder(StepChanged(run_id, "a", 0, "s", JobState.RUNNING, 2.0))
    time.sleep(0.1)  # the background flusher fails a few times and carries on
    with pytest.raises(StoreError, match="cannot record the run"):
        recorder.flush()
    recorder(StepChanged(run_id, "a", 0, "s", JobState.PASSED, 3.0, 0))
    recorder(JobChanged(run_id, "a", JobState.PASSED, 3.0))
    outage.down = False
    recorder(RunFinished(run_id, RunState.PASSED, 4.0, {}))
    run = get_run(db, run_id)
    assert run["status"] == "passed"
    [job] = run["jobs"]
    assert job["status"] == "passed"
    assert job["steps"] == [{"index": 0, "name": "s", "status": "passed", "exit_code": 0}]


class AnswerLost:
    """Commits the next ``lose`` transactions on ``db`` and then fails them, as a server that
    restarted after the commit reached it but before its answer did."""

    def __init__(self, db: Database) -> None:
        self.lose = 0
        event.listen(db.engine, "commit", self._commit_then_fail)

    def _commit_then_fail(self, connection: Any) -> None:
        if self.lose:
            self.lose -= 1
            connection.connection.dbapi_connection.commit()
            lost = ConnectionResetError("server closed the connection unexpectedly")
            raise OperationalError("COMMIT", {}, lost)


def test_a_batch_whose_commit_answer_was_lost_is_not_written_twice(
    db: Database, tmp_path: Path
) -> None:
    lost = AnswerLost(db)
    run_id = create_run(db, CONTEXT, "p.yml", "sha256:abc")
    recorder = Recorder(db, tmp_path / "logs", flush_interval=60)  # flushed by hand here
    recorder(
        RunStarted(run_id, CONTEXT, "p.yml", "sha256:abc", ("a",), {"a": ()}, {"a": "steps"}, 1.0)
    )
    recorder(JobChanged(run_id, "a", JobState.RUNNING, 2.0))
    recorder(StepChanged(run_id, "a", 0, "s", JobState.RUNNING, 2.0))
    lost.lose = 1
    with pytest.raises(StoreError, match="cannot record the run"):
        recorder.flush()  # committed; the recorder cannot know
    recorder(StepChanged(run_id, "a", 0, "s", JobState.PASSED, 3.0, 0))
    recorder(JobChanged(run_id, "a", JobState.PASSED, 3.0))
    recorder(RunFinished(run_id, RunState.PASSED, 4.0, {}))
    [job] = get_run(db, run_id)["jobs"]
    assert job["steps"] == [{"index": 0, "name": "s", "status": "passed", "exit_code": 0}]
