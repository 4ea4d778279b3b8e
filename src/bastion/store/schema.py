"""Alembic chains: run a package's own migration scripts on a database.

A package that owns tables keeps its migrations beside its models, in a script directory
with an ``env.py`` of two lines and a version table of its own, and describes it as a
:class:`SchemaChain`. :meth:`bastion.store.Database.ensure_schema` brings it up to date; the
store's own chain (runs, jobs, steps) is one such chain, run by ``open_database``. Separate
version tables keep each chain linear and let packages ship revisions without knowing each
other (the store knows none of them).

    # <package>/migrations/env.py
    from bastion.store import Base, run_chain_environment
    run_chain_environment(Base.metadata, owned=frozenset({"my_table"}))
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Engine, MetaData

__all__ = ["STORE_CHAIN", "SchemaChain", "run_chain_environment", "upgrade_chain"]

# Alembic's ``context`` is process-global: two upgrades at once would share it.
_MIGRATE_LOCK = threading.Lock()
_CONNECTION = "connection"
_VERSION_TABLE = "version_table"


@dataclass(frozen=True)
class SchemaChain:
    """One linear Alembic chain: its script directory and the table recording its revision."""

    name: str
    script_location: Path
    version_table: str

    def __post_init__(self) -> None:
        if not (self.script_location / "env.py").is_file():
            raise ValueError(f"{self.script_location}: not an Alembic script directory")


STORE_CHAIN = SchemaChain(
    "store", Path(__file__).resolve().parent / "migrations", version_table="alembic_version"
)


def upgrade_chain(engine: Engine, chain: SchemaChain) -> None:
    """Upgrade ``chain`` to its head in one transaction (SQLAlchemyError if that fails)."""
    config = Config()
    config.set_main_option("script_location", str(chain.script_location))
    with _MIGRATE_LOCK, engine.begin() as connection:
        config.attributes[_CONNECTION] = connection
        config.attributes[_VERSION_TABLE] = chain.version_table
        command.upgrade(config, "heads")


def run_chain_environment(metadata: MetaData, owned: Collection[str]) -> None:
    """The body of a chain's ``env.py``: migrate the connection :func:`upgrade_chain` passed.

    ``owned`` names the chain's tables. Every package's tables hang on one metadata, so
    autogenerate must compare only these: it would otherwise offer to drop (or create) the
    tables of the other chains in the same database.
    """
    connection = context.config.attributes[_CONNECTION]

    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        return type_ != "table" or name in owned

    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=context.config.attributes[_VERSION_TABLE],
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
