"""Read-only views of the audit log's tables for the KPI queries.

The audit package owns these tables (``bastion/audit/models.py``) and exports no record
class; the KPIs need only a few columns of them, read with plain SQL over the documented
schema, so the monitor never writes to them nor depends on their mapped classes.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, String, Text, inspect
from sqlalchemy.sql import column, table

from bastion.store import Database, UTCDateTime

__all__ = ["AUDIT_CHECKPOINTS", "AUDIT_EVENTS", "audited", "body_details"]

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
