"""Alembic environment: runs on the connection ``open_database`` hands over."""

from __future__ import annotations

from alembic import context

import bastion.audit.models  # (registers the audit tables)
import bastion.store.models  # noqa: F401  (registers the core tables)
from bastion.store.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
