"""Leases and the worker registry in the state database (:class:`LeaseStore`).

>>> from bastion.store import open_database
>>> store = LeaseStore(open_database("sqlite://"))
>>> store.grant(Claim("7.ab.1", 7, "build", 1, "trusted", "w1"), now=0.0)
<Grant.GRANTED: 'granted'>
>>> store.grant(Claim("7.ab.1", 7, "build", 1, "trusted", "w2"), now=0.0)
<Grant.DUPLICATE: 'duplicate'>

The executor is the only writer of leases and the clock it passes (``now``, seconds since
the epoch) is the reference: a worker's own clock never enters a lease. Operators change a
worker's state (:meth:`LeaseStore.set_state`): a draining worker is granted nothing new, a
revoked one is granted nothing, its heartbeats are refused and its results ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bastion.executors.celery.models import WORKERS_CHAIN, LeaseRecord, WorkerRecord
from bastion.store import Database

__all__ = [
    "Claim",
    "Grant",
    "LeaseInfo",
    "LeaseState",
    "LeaseStore",
    "WorkerInfo",
    "WorkerState",
    "end_interrupted_leases",
]


class LeaseState(enum.StrEnum):
    """Where a lease is: running until it ends exactly once."""

    RUNNING = "running"
    FINISHED = "finished"
    LOST = "lost"
    REVOKED = "revoked"
    INTERRUPTED = "interrupted"
    """The server owning the run died; its restart closed the run (engine recovery)."""


class WorkerState(enum.StrEnum):
    """What an operator decided about a worker."""

    ACTIVE = "active"
    DRAINING = "draining"
    REVOKED = "revoked"


class Grant(enum.StrEnum):
    """The answer to a claim."""

    GRANTED = "granted"
    DUPLICATE = "duplicate"
    DRAINING = "draining"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's claim of one attempt of one job."""

    task_id: str
    run_id: int
    job: str
    attempt: int
    pool: str
    worker: str


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A row of the worker registry, with the jobs it holds now."""

    name: str
    pool: str
    state: WorkerState
    last_heartbeat: datetime
    current: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pool": self.pool,
            "state": self.state.value,
            "last_heartbeat": self.last_heartbeat.isoformat(),
            "current": list(self.current),
        }


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """One attempt of one job a worker was granted (what ``bastion workers jobs`` lists)."""

    run_id: int
    job: str
    attempt: int
    state: str
    claimed_at: datetime
    ended_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        ended = self.ended_at.isoformat() if self.ended_at else None
        return {"run": self.run_id, "job": self.job, "attempt": self.attempt,
                "state": self.state, "claimed_at": self.claimed_at.isoformat(),
                "ended_at": ended}  # fmt: skip


def _at(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def _touch(session: Session, worker: str, at: datetime) -> WorkerState | None:
    """Stamp ``worker``'s last heartbeat and return its state (None: never seen), in one
    statement: a claim and a heartbeat each cost a round trip less than a read and a write
    (the executor makes thousands of them)."""
    state = session.execute(
        update(WorkerRecord)
        .where(WorkerRecord.name == worker)
        .values(last_heartbeat=at)
        .returning(WorkerRecord.state)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return None if state is None else WorkerState(state)


class LeaseStore:
    """Grants, heartbeats and ends leases with single SQL statements; lists the workers."""

    def __init__(self, db: Database) -> None:
        db.ensure_schema(WORKERS_CHAIN)
        self._db = db

    def grant(self, claim: Claim, *, now: float) -> Grant:
        """INSERT the lease unless the worker may not take it or the attempt is taken."""
        at = _at(now)
        with self._db.session() as session:
            state = _touch(session, claim.worker, at)
            if state is None:
                session.execute(
                    insert(WorkerRecord).values(
                        name=claim.worker, pool=claim.pool, state=WorkerState.ACTIVE.value,
                        first_seen=at, last_heartbeat=at,
                    )
                )  # fmt: skip
                state = WorkerState.ACTIVE
            if state is not WorkerState.ACTIVE:
                return Grant(state.value)
            try:
                session.execute(
                    insert(LeaseRecord).values(
                        task_id=claim.task_id, run_id=claim.run_id, job=claim.job,
                        attempt=claim.attempt, pool=claim.pool, worker=claim.worker,
                        state=LeaseState.RUNNING.value, claimed_at=at, heartbeat_at=at,
                    )
                )  # fmt: skip
            except IntegrityError:
                session.rollback()
                return Grant.DUPLICATE
        return Grant.GRANTED

    def heartbeat(self, task_id: str, worker: str, *, now: float) -> bool:
        """Renew the lease; False when it is not running or its worker is revoked (the
        lease then ends as revoked)."""
        at = _at(now)
        with self._db.session() as session:
            if _touch(session, worker, at) is WorkerState.REVOKED:
                self._end(session, task_id, LeaseState.REVOKED, at)
                return False
            done = session.execute(
                update(LeaseRecord)
                .where(LeaseRecord.task_id == task_id, LeaseRecord.worker == worker)
                .where(LeaseRecord.state == LeaseState.RUNNING.value)
                .values(heartbeat_at=at)
                .execution_options(synchronize_session=False)
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    def end(
        self, task_id: str, state: LeaseState, *, now: float, worker: str | None = None
    ) -> bool:
        """``UPDATE … WHERE state = 'running'``: True for the one caller that ended it. A
        revoked ``worker`` ends nothing (its result is not taken)."""
        with self._db.session() as session:
            return self._end(session, task_id, state, _at(now), unless_revoked=worker)

    def end_runs(self, run_ids: Collection[int], *, now: float) -> int:
        """End as ``interrupted`` every lease still running of the runs a restarted server
        closed (their executor died with the old process); how many were ended."""
        if not run_ids:
            return 0
        with self._db.session() as session:
            done = session.execute(
                update(LeaseRecord)
                .where(
                    LeaseRecord.run_id.in_(list(run_ids)),
                    LeaseRecord.state == LeaseState.RUNNING.value,
                )
                .values(state=LeaseState.INTERRUPTED.value, ended_at=_at(now))
            )
            return int(done.rowcount)  # type: ignore[attr-defined]

    def _end(
        self,
        session: Session,
        task_id: str,
        state: LeaseState,
        at: datetime,
        *,
        unless_revoked: str | None = None,
    ) -> bool:
        """One UPDATE: the lease ends if it runs (and its worker, when named, is not
        revoked)."""
        query = update(LeaseRecord).where(
            LeaseRecord.task_id == task_id, LeaseRecord.state == LeaseState.RUNNING.value
        )
        if unless_revoked is not None:
            revoked = (
                select(WorkerRecord.name)
                .where(WorkerRecord.name == unless_revoked)
                .where(WorkerRecord.state == WorkerState.REVOKED.value)
            )
            query = query.where(~revoked.exists())
        done = session.execute(
            query.values(state=state.value, ended_at=at).execution_options(
                synchronize_session=False
            )
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    def set_state(self, worker: str, state: WorkerState, *, by: str) -> bool:
        """Drain, revoke or reactivate a known worker; False if it was never seen."""
        with self._db.session() as session:
            record = session.get(WorkerRecord, worker)
            if record is None:
                return False
            record.state, record.changed_by = state.value, by
            return True

    def workers(self) -> list[WorkerInfo]:
        """Every worker seen, by pool and name, with the jobs it holds now."""
        with self._db.session() as session:
            running = session.execute(
                select(LeaseRecord.worker, LeaseRecord.run_id, LeaseRecord.job).where(
                    LeaseRecord.state == LeaseState.RUNNING.value
                )
            ).all()
            current: dict[str, list[str]] = {}
            for worker, run_id, job in running:
                current.setdefault(worker, []).append(f"run {run_id} job {job}")
            records = session.scalars(
                select(WorkerRecord).order_by(WorkerRecord.pool, WorkerRecord.name)
            ).all()
            return [
                WorkerInfo(
                    r.name,
                    r.pool,
                    WorkerState(r.state),
                    r.last_heartbeat,
                    tuple(current.get(r.name, ())),
                )
                for r in records
            ]

    def leases_of(self, worker: str) -> list[LeaseInfo]:
        """Every lease ``worker`` was ever granted, oldest first: the jobs it executed."""
        query = select(LeaseRecord).where(LeaseRecord.worker == worker)
        with self._db.session() as session:
            rows = session.scalars(query.order_by(LeaseRecord.claimed_at)).all()
            return [
                LeaseInfo(r.run_id, r.job, r.attempt, r.state, r.claimed_at, r.ended_at)
                for r in rows
            ]

    def lease(self, task_id: str) -> LeaseRecord | None:
        """The lease of ``task_id`` as stored (tests and the API read it)."""
        with self._db.session() as session:
            return session.get(LeaseRecord, task_id)


def end_interrupted_leases(db: Database, run_ids: Collection[int], *, now: float) -> int:
    """End as ``interrupted`` the running leases of runs a recovery just closed (a
    ``bastion run --executor celery`` killed with -9 left them ``running``); how many.

    A database no Celery run ever used has no lease table, and none is made for nothing.
    """
    if not run_ids or not inspect(db.engine).has_table(LeaseRecord.__tablename__):
        return 0
    return LeaseStore(db).end_runs(run_ids, now=now)
