"""The audit log on the real PostgreSQL, one schema per test; fails if the server is down."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bastion.audit import AuditLog, AuditTamperError, Ed25519NoteSigner, TamperKind
from bastion.store import Database

from .conftest import make_events


@pytest.mark.integration
def test_audit_log_on_postgresql(pg_db: Database) -> None:
    log = AuditLog(pg_db, Ed25519NoteSigner.generate("pg.local/audit"))
    log.append_many(make_events(20))
    old = log.checkpoint()
    for event in make_events(5, start=20):
        log.append(event)
    log.checkpoint()
    log.prove_consistency(old).verify(log.verifiers)
    log.prove(17).verify(log.verifiers)
    report = log.verify()
    assert (report.size, report.checkpoints, report.unsealed) == (25, 2, 0)
    assert log.entry(3).event.details["note"] == "ünïcode ✓"

    with pg_db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET body = replace(body, 'user', 'x') WHERE seq = 11")
        )
    with pytest.raises(AuditTamperError) as info:
        log.verify()
    assert (info.value.reason, info.value.seq) == (TamperKind.CHANGED, 11)
