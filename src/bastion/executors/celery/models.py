"""The worker leases and the worker registry, and the Alembic chain that makes them.

``worker_leases`` one row per granted attempt of a job: granting is an INSERT (the task id
is the key and ``(run_id, job, attempt)`` is unique, so a second claim of the same attempt
fails in the database, not only in memory) and every later change is an ``UPDATE … WHERE
state = 'running'``, so a lease ends once. ``worker_registry`` one row per worker seen: its
pool, its state (active, draining, revoked) and its last heartbeat. Times are the server's
(the executor's clock), never a worker's. The chain has its own version table
(``workers_alembic_version``), like the audit log's and the monitor's.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store import Base, SchemaChain, UTCDateTime

__all__ = ["WORKERS_CHAIN", "WORKER_TABLES", "LeaseRecord", "WorkerRecord"]

WORKERS_CHAIN = SchemaChain(
    "workers",
    Path(__file__).resolve().parent / "migrations",
    version_table="workers_alembic_version",
)


class LeaseRecord(Base):
    """One granted attempt of a job on one worker."""

    __tablename__ = "worker_leases"
    __table_args__ = (
        UniqueConstraint("run_id", "job", "attempt", name="uq_worker_leases_attempt"),
    )

    task_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    job: Mapped[str] = mapped_column(String(256))
    attempt: Mapped[int] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str] = mapped_column(String(256), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkerRecord(Base):
    """A worker the server has seen claim a job, and what an operator decided about it."""

    __tablename__ = "worker_registry"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    pool: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_heartbeat: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str | None] = mapped_column(String(256))


WORKER_TABLES = frozenset(str(r.__tablename__) for r in (LeaseRecord, WorkerRecord))
