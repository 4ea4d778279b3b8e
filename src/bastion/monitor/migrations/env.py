"""Alembic environment of the monitor's chain (version table ``monitor_alembic_version``)."""

from __future__ import annotations

from bastion.monitor.models import MONITOR_TABLES
from bastion.store import Base, run_chain_environment

run_chain_environment(Base.metadata, owned=MONITOR_TABLES)
