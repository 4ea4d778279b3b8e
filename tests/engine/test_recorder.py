"""The recorder keeps a run's record on SQLite and on the real PostgreSQL (same models)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.engine.events import Event, JobChanged, JobOutput, RunFinished, RunStarted, StepChanged
from bastion.engine.history import get_findings, get_run, list_runs, read_log
from bastion.engine.model import FindingCounts, GateVerdict, JobState, RunContext, RunState, Trust
from bastion.engine.recorder import Recorder, create_run
from bastion.engine.run_findings import JudgedFinding
from bastion.errors import UsageError
from bastion.store import Database, open_database

CONTEXT = RunContext("repo", "c0ffee", "refs/heads/main", "local", Trust.LOCAL)
FINDING = JudgedFinding(
    "sast",
    "B602",
    "high",
    "app.py",
    3,
    "shell=True",
    "fp" * 32,  # as long as a real fingerprint
    new=False,
    suppressed=True,
    suppressed_by="by alice until 2027-01-01",
    suppressed_reason="reviewed: fixed input",
)


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
            GateVerdict(
                False,
                ("1 high finding",),
                FindingCounts(1, by_severity={"high": 1}),
                judged=(FINDING,),
            ),
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
    # Issue 23: a gate job's log ends with its verdict and findings (it was only the output).
    log = path.read_bytes().decode()
    assert job == "sast"
    assert log.startswith("scanning\n── verdict: blocked ──\nreason: 1 high finding\n")
    assert f"HIGH sast/B602 at app.py:3: shell=True [fingerprint {FINDING.fingerprint}]" in log
    # The build job wrote nothing, but the folder its recorded log path names exists.
    assert Path(build["log"]).parent.is_dir()
    assert get_findings(db, run_id) == [("sast", FINDING)]
    with pytest.raises(UsageError, match="no run 999"):
        get_findings(db, 999)
    with pytest.raises(UsageError, match="no job 'nope'"):
        read_log(db, run_id, "nope")
    with pytest.raises(UsageError, match="no run 999"):
        get_run(db, 999)


def test_recorder_on_sqlite(sqlite_db: Database, tmp_path: Path) -> None:
    _check(sqlite_db, tmp_path / "logs")


@pytest.mark.integration
def test_recorder_on_postgresql(pg_db: Database, tmp_path: Path) -> None:
    _check(pg_db, tmp_path / "logs")
