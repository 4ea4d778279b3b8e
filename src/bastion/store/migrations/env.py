"""Alembic environment of the store's chain (runs, jobs, steps, findings; version table
``alembic_version``).

Other packages' tables have chains of their own (:mod:`bastion.store.schema`), never imported
here: the store knows none of them.
"""

from __future__ import annotations

from bastion.store.base import Base
from bastion.store.models import FindingRecord, JobRecord, RunRecord, StepRecord
from bastion.store.schema import run_chain_environment

_OWNED = (RunRecord, JobRecord, StepRecord, FindingRecord)
run_chain_environment(Base.metadata, owned=frozenset(str(m.__tablename__) for m in _OWNED))
