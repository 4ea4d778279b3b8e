"""The recorder keeps a run's record on SQLite and on the real PostgreSQL (same models)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.engine.events import Event, JobChanged, JobOutput, RunFinished, RunStarted, StepChanged
from bastion.engine.history import get_run, list_runs, read_log
from bastion.engine.model import FindingCounts, GateVerdict, JobState, RunContext, RunState, Trust
from bastion.engine.recorder import Recorder, create_run
from bastion.errors import UsageError
from bastion.store import Database, open_database

CONTEXT = RunContext("repo", "c0ffee", "refs/heads/main", "local", Trust.LOCAL)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    yield db
    db.dispose()


def _record(db: Database, logs: Path) -> int:
    run_id = create_run(db, CONTEXT, "p.yml", "sha256:abc")
    recorder = Recorder(db, logs, flush_interval=0.01)
    events: list[Event] = [
        RunStarted(
            run_id,
            CONTEXT,
            "p.yml",
            "sha256:abc",
            ("sast", "build"),
            {"sast": (), "build": ("sast",)},
            {"sast": "gate", "build": "steps"},
            10.0,
        ),
        JobChanged(run_id, "sast", JobState.RUNNING, 10.0),
        StepChanged(run_id, "sast", 0, "bastion/sast", JobState.RUNNING, 10.0),
        JobOutput(run_id, "sast", b"scanning\n"),
        StepChanged(run_id, "sast", 0, "bastion/sast", JobState.PASSED, 11.0, 0),
        JobChanged(
            run_id,
            "sast",
            JobState.BLOCKED,
            11.0,
            "1 high finding",
            GateVerdict(False, ("1 high finding",), FindingCounts(1, by_severity={"high": 1})),
        ),
        JobChanged(run_id, "build", JobState.SKIPPED, 11.0, "needs 'sast', which blocked"),
        RunFinished(run_id, RunState.BLOCKED, 11.5, {"sast": "1 high finding"}),
    ]
    for event in events:
        recorder(event)
    return run_id


def _check(db: Database, logs: Path) -> None:
    run_id = _record(db, logs)
    run = get_run(db, run_id)
    assert run["status"] == "blocked"
    assert run["reason"] == "sast: 1 high finding"
    assert run["duration_seconds"] == 1.5
    sast, build = run["jobs"]
    assert sast["status"] == "blocked"
    # The typed verdict is stored in the summary shape records have always had.
    assert sast["result"]["verdict"]["summary"] == {
        "findings": 1,
        "new": 0,
        "suppressed": 0,
        "by_severity": {"high": 1},
        "warnings": [],
        "notes": [],
        "gate_notes": [],
    }
    assert sast["steps"] == [
        {"index": 0, "name": "bastion/sast", "status": "passed", "exit_code": 0}
    ]
    assert build["status"] == "skipped"
    assert list_runs(db)[0]["id"] == run_id
    [(job, path)] = read_log(db, run_id, "sast")
    assert (job, path.read_bytes()) == ("sast", b"scanning\n")
    with pytest.raises(UsageError, match="no job 'nope'"):
        read_log(db, run_id, "nope")
    with pytest.raises(UsageError, match="no run 999"):
        get_run(db, 999)


def test_recorder_on_sqlite(sqlite_db: Database, tmp_path: Path) -> None:
    _check(sqlite_db, tmp_path / "logs")


@pytest.mark.integration
def test_recorder_on_postgresql(pg_db: Database, tmp_path: Path) -> None:
    _check(pg_db, tmp_path / "logs")
