"""Fixtures of the audit tests: a fresh SQLite state database and log per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bastion.audit import AuditEvent, AuditLog, Ed25519NoteSigner, Outcome
from bastion.store import Database, open_database, sqlite_url

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
# "Now" for verifying logs of make_events() whose newest events no checkpoint covers yet.
NOW = T0 + timedelta(hours=1)


def make_events(count: int, start: int = 0) -> list[AuditEvent]:
    """Small, varied, deterministic events."""
    return [
        AuditEvent(
            actor=f"user{i % 3}",
            action=("run.started", "job.finished", "gate.decided")[i % 3],
            subject=f"run/{i // 3}",
            outcome=Outcome.FAILURE if i % 5 == 4 else Outcome.SUCCESS,
            details={"i": i, "note": "ünïcode ✓", "list": [1, None, True]},
            time=T0 + timedelta(seconds=i),
        )
        for i in range(start, start + count)
    ]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path / "state.db"))
    yield database
    database.dispose()


@pytest.fixture
def signer() -> Ed25519NoteSigner:
    return Ed25519NoteSigner.generate("test.local/audit")


@pytest.fixture
def log(db: Database, signer: Ed25519NoteSigner) -> AuditLog:
    return AuditLog(db, signer)
