"""Alembic environment of the worker leases' chain (version table ``workers_alembic_version``)."""

from __future__ import annotations

from bastion.executors.celery.models import WORKER_TABLES
from bastion.store import Base, run_chain_environment

run_chain_environment(Base.metadata, owned=WORKER_TABLES)
