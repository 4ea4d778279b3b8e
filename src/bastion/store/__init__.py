"""Bastion's state: SQLAlchemy 2 models, Alembic migrations, SQLite or PostgreSQL.

>>> from bastion.store import open_database
>>> db = open_database("sqlite:///:memory:")
"""

from bastion.store.base import Base, UTCDateTime, utcnow
from bastion.store.database import Database, open_database, sqlite_url
from bastion.store.locations import (
    bastion_home,
    default_database_url,
    find_repo_root,
    state_dir,
)
from bastion.store.models import (
    AttestationRecord,
    FindingRecord,
    JobRecord,
    RunRecord,
    StepRecord,
)
from bastion.store.schema import SchemaChain, run_chain_environment

__all__ = [
    "AttestationRecord",
    "Base",
    "Database",
    "FindingRecord",
    "JobRecord",
    "RunRecord",
    "SchemaChain",
    "StepRecord",
    "UTCDateTime",
    "bastion_home",
    "default_database_url",
    "find_repo_root",
    "open_database",
    "run_chain_environment",
    "sqlite_url",
    "state_dir",
    "utcnow",
]
