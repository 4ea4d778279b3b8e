"""The lease store on SQLite and PostgreSQL: one grant per attempt, one end per lease,
drained and revoked workers, and the registry's audit events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bastion.audit import AuditEvent
from bastion.errors import UsageError
from bastion.executors.celery import (
    Claim,
    Grant,
    LeaseState,
    LeaseStore,
    WorkerState,
    change_worker,
    end_interrupted_leases,
)
from bastion.store import Database, open_database, sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def leases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LeaseStore]:
    if request.param == "sqlite":
        db = open_database(sqlite_url(tmp_path / "state.db"))
        yield LeaseStore(db)
        db.dispose()
    else:
        pg: Database = request.getfixturevalue("pg_db")
        yield LeaseStore(pg)


def _claim(worker: str, attempt: int = 1) -> Claim:
    return Claim(f"7.abc.{attempt}", 7, "build", attempt, "trusted", worker)


def test_a_second_claim_of_the_same_attempt_is_a_duplicate(leases: LeaseStore) -> None:
    assert leases.grant(_claim("w1"), now=100.0) is Grant.GRANTED
    assert leases.grant(_claim("w2"), now=101.0) is Grant.DUPLICATE
    assert leases.grant(_claim("w1"), now=101.0) is Grant.DUPLICATE
    lease = leases.lease("7.abc.1")
    assert lease is not None
    assert (lease.worker, lease.state) == ("w1", "running")


def test_a_lease_ends_once(leases: LeaseStore) -> None:
    leases.grant(_claim("w1"), now=100.0)
    assert leases.end("7.abc.1", LeaseState.LOST, now=111.0)
    assert not leases.end("7.abc.1", LeaseState.FINISHED, now=112.0, worker="w1")
    assert not leases.heartbeat("7.abc.1", "w1", now=113.0)
    assert leases.grant(_claim("w2", attempt=2), now=114.0) is Grant.GRANTED


def test_heartbeats_are_stamped_with_the_servers_time(leases: LeaseStore) -> None:
    leases.grant(_claim("w1"), now=1_000.0)
    assert leases.heartbeat("7.abc.1", "w1", now=1_007.0)
    lease = leases.lease("7.abc.1")
    assert lease is not None
    assert (lease.heartbeat_at - lease.claimed_at).total_seconds() == 7.0
    assert not leases.heartbeat("7.abc.1", "w2", now=1_008.0)  # not the holder


def test_drained_worker_is_granted_nothing_new(leases: LeaseStore) -> None:
    leases.grant(_claim("w1"), now=100.0)
    events: list[AuditEvent] = []
    change_worker(leases, events.append, "w1", WorkerState.DRAINING, actor="alice")
    assert leases.heartbeat("7.abc.1", "w1", now=101.0)  # what it runs goes on
    assert leases.grant(_claim("w1", attempt=2), now=102.0) is Grant.DRAINING
    assert [(e.action, e.subject, e.actor) for e in events] == [
        ("worker.drained", "worker/w1", "alice")
    ]


def test_revoked_worker_heartbeat_and_result_are_refused(leases: LeaseStore) -> None:
    leases.grant(_claim("w1"), now=100.0)
    events: list[AuditEvent] = []
    change_worker(leases, events.append, "w1", WorkerState.REVOKED, actor="alice")
    assert not leases.heartbeat("7.abc.1", "w1", now=101.0)
    assert not leases.end("7.abc.1", LeaseState.FINISHED, now=102.0, worker="w1")
    lease = leases.lease("7.abc.1")
    assert lease is not None
    assert lease.state == "revoked"
    assert leases.grant(_claim("w1", attempt=2), now=103.0) is Grant.REVOKED
    assert events[0].action == "worker.revoked"
    (info,) = leases.workers()
    assert (info.name, info.state, info.current) == ("w1", WorkerState.REVOKED, ())


def test_registry_lists_current_jobs(leases: LeaseStore) -> None:
    leases.grant(_claim("w1"), now=100.0)
    leases.grant(Claim("8.x.1", 8, "lint", 1, "untrusted", "u1"), now=100.0)
    listed = {w.name: w.to_dict() for w in leases.workers()}
    assert listed["w1"]["current"] == ["run 7 job build"]
    assert listed["u1"]["pool"] == "untrusted"


def test_the_jobs_a_worker_executed(leases: LeaseStore) -> None:
    leases.grant(Claim("8.x.1", 8, "lint", 1, "trusted", "w1"), now=101.0)
    leases.grant(_claim("w1"), now=100.0)
    leases.grant(Claim("9.x.1", 9, "test", 1, "trusted", "w2"), now=102.0)
    leases.end("7.abc.1", LeaseState.FINISHED, now=103.0)
    jobs = [lease.to_dict() for lease in leases.leases_of("w1")]
    assert [(j["run"], j["job"], j["state"]) for j in jobs] == [
        (7, "build", "finished"),
        (8, "lint", "running"),
    ]
    assert jobs[0]["ended_at"] is not None
    assert jobs[1]["ended_at"] is None
    assert leases.leases_of("nobody") == []


def test_unknown_worker_cannot_be_revoked(leases: LeaseStore) -> None:
    with pytest.raises(UsageError):
        change_worker(leases, print, "nobody", WorkerState.REVOKED, actor="alice")


def test_interrupted_run_leases_end_only_for_that_run(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    try:
        store = LeaseStore(db)
        for run in (1, 2):
            store.grant(Claim(f"{run}.ab.1", run, "build", 1, "trusted", "w1"), now=0.0)
        assert end_interrupted_leases(db, [1], now=5.0) == 1
        assert store.lease("1.ab.1").state == LeaseState.INTERRUPTED.value  # type: ignore[union-attr]
        assert store.lease("2.ab.1").state == LeaseState.RUNNING.value  # type: ignore[union-attr]
    finally:
        db.dispose()


def test_a_database_without_leases_gets_no_lease_table(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    try:
        assert end_interrupted_leases(db, [1], now=0.0) == 0
        assert not inspect(db.engine).has_table("worker_leases")
    finally:
        db.dispose()
