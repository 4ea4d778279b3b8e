"""Read-only views of the audit log's tables for the KPI queries.

The audit package owns these tables (``bastion/audit/models.py``) and exports no record
class; the KPIs need only a few columns of them, read with plain SQL over the documented
schema, so the monitor never writes to them nor depends on their mapped classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    Text,
    inspect,
    select,
)
from sqlalchemy.sql import column, table

from bastion.monitor.models import AuditFactRecord
from bastion.store import Database, UTCDateTime

__all__ = [
    "AUDIT_CHECKPOINTS",
    "AUDIT_EVENTS",
    "KPI_ACTIONS",
    "AuditRow",
    "audited",
    "body_details",
    "parse_details",
    "read_events",
]

AUDIT_EVENTS = table(
    "audit_events",
    column("seq", BigInteger()),
    column("time", UTCDateTime()),
    column("action", String()),
    column("subject", String()),
    column("outcome", String()),
    column("body", Text()),
)
AUDIT_CHECKPOINTS = table("audit_checkpoints", column("size", BigInteger()))


def body_details(body: str) -> dict[str, Any]:
    """The ``details`` object of a stored event body ({} if it has none)."""
    details = json.loads(body).get("details")
    return details if isinstance(details, dict) else {}


def audited(db: Database) -> bool:
    """True when the database holds an audit log (a run database may have none yet)."""
    return inspect(db.engine).has_table("audit_events")


# What the approval-latency and audit-readiness KPIs read: one pass serves both.
KPI_ACTIONS = (
    "approval.requested",
    "approval.approved",
    "approval.rejected",
    "approval.expired",
    "approval.deployed",
    "deploy.completed",
)


def parse_details(body: str) -> tuple[str, int | None, str | None, str | None]:
    """(environment, run, digest, artifacts as JSON text) of an event body's details."""
    details = body_details(body)
    run, digest, artifacts = details.get("run"), details.get("digest"), details.get("artifacts")
    return (
        str(details.get("environment", "?"))[:256],
        run if isinstance(run, int) and not isinstance(run, bool) else None,
        digest[:80] if isinstance(digest, str) else None,
        json.dumps(artifacts) if isinstance(artifacts, list) else None,
    )


@dataclass(frozen=True, slots=True)
class AuditRow:
    """The fields of one approval or deploy event the KPIs use."""

    seq: int
    time: datetime
    action: str
    subject: str
    environment: str
    run: int | None
    artifacts: str | None  # JSON text of details.artifacts


def read_events(db: Database) -> list[AuditRow]:
    """The approval and deploy events in log order, from their summary table."""
    f = AuditFactRecord
    query = select(f.seq, f.time, f.action, f.subject, f.environment, f.run_id, f.artifacts)
    with db.session() as session:
        return [AuditRow(*row) for row in session.execute(query.order_by(f.seq))]
