"""A restarted server ends the leases of the runs it closed as interrupted (fault 4): only
those runs', only those still running, once; a late heartbeat of such a lease is refused."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bastion.executors.celery import Claim, Grant, LeaseState, LeaseStore
from bastion.executors.celery.models import LeaseRecord
from bastion.store import open_database, sqlite_url


def _claim(run_id: int, job: str, worker: str) -> Claim:
    return Claim(f"{run_id}.{job}.1", run_id, job, 1, "trusted", worker)


def test_end_runs_ends_only_the_running_leases_of_those_runs(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    leases = LeaseStore(db)
    for claim in (_claim(7, "a", "w1"), _claim(7, "b", "w2"), _claim(8, "a", "w1")):
        assert leases.grant(claim, now=100.0) is Grant.GRANTED
    assert leases.end("7.a.1", LeaseState.FINISHED, now=101.0)
    assert leases.end_runs([], now=102.0) == 0
    assert leases.end_runs([7], now=102.0) == 1
    assert leases.end_runs([7], now=103.0) == 0  # once
    assert not leases.heartbeat("7.b.1", "w2", now=104.0)
    with db.session() as session:
        rows = session.execute(select(LeaseRecord.task_id, LeaseRecord.state)).all()
    states = {task_id: state for task_id, state in rows}
    db.dispose()
    assert states == {"7.a.1": "finished", "7.b.1": "interrupted", "8.a.1": "running"}
