"""Alembic environment of the audit log's chain (version table ``audit_alembic_version``).

Run by :class:`bastion.audit.AuditLog` when it opens a database, through the store's generic
runner; the store's own chain never sees these tables.
"""

from __future__ import annotations

from bastion.audit.models import AUDIT_TABLES
from bastion.store import Base, run_chain_environment

run_chain_environment(Base.metadata, owned=AUDIT_TABLES)
