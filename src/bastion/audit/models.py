"""The audit log's tables and the Alembic chain that makes them (:data:`AUDIT_CHAIN`).

``audit_events`` holds each event's exact canonical body (what is hashed) beside queryable
copies of its fields; ``audit_nodes`` the perfect interior nodes (level >= 1) completed by
appends, so proofs read O(log n) rows; ``audit_head`` the single row with the tree size and
its right edge (the write lock every append takes); ``audit_checkpoints`` the signed notes.
Everything but the bodies and the notes is derived data that ``verify`` recomputes.

The chain lives in ``bastion/audit/migrations`` with its own version table, so the audit
package owns its schema and the store never imports it; :class:`~bastion.audit.AuditLog`
brings it up when it opens a database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store import Base, SchemaChain, UTCDateTime

__all__ = [
    "AUDIT_CHAIN",
    "AUDIT_TABLES",
    "AuditCheckpointRecord",
    "AuditEventRecord",
    "AuditHeadRecord",
    "AuditNodeRecord",
]

AUDIT_CHAIN = SchemaChain(
    "audit",
    Path(__file__).resolve().parent / "migrations",
    version_table="audit_alembic_version",
)

# SQLite only aliases rowid (fast, compact) for a column typed exactly INTEGER.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class AuditEventRecord(Base):
    """One appended event; never updated."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(256), index=True)
    action: Mapped[str] = mapped_column(String(128), index=True)
    subject: Mapped[str] = mapped_column(String(1024))
    outcome: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditNodeRecord(Base):
    """A perfect interior node ``(level, idx)`` of the Merkle tree."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHeadRecord(Base):
    """The one row (id 1) with the current tree size and right edge (compact range)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    edge: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpointRecord(Base):
    """A signed checkpoint; ``note`` is the exact signed text, the rest is parsed from it."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


AUDIT_TABLES = frozenset(
    str(record.__tablename__)
    for record in (AuditEventRecord, AuditNodeRecord, AuditHeadRecord, AuditCheckpointRecord)
)
