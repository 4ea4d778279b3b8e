"""Alembic chains: the store's own, and any package's run through ``Database.ensure_schema``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bastion.errors import StoreError
from bastion.store import Database, SchemaChain, open_database, sqlite_url

ENV = """\
from bastion.store import Base, run_chain_environment

run_chain_environment(Base.metadata, owned=frozenset({"%(table)s"}))
"""

REVISION = """\
from alembic import op

revision = "%(name)s_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("%(sql)s")


def downgrade() -> None:
    op.execute("DROP TABLE %(table)s")
"""


def make_chain(root: Path, name: str, sql: str | None = None) -> SchemaChain:
    """A one-revision chain ``name`` creating table ``name`` (or running ``sql``)."""
    location = root / name
    (location / "versions").mkdir(parents=True)
    fields = {"name": name, "table": name, "sql": sql or f"CREATE TABLE {name} (id INTEGER)"}
    (location / "env.py").write_text(ENV % fields)
    (location / "versions" / f"{name}_0001.py").write_text(REVISION % fields)
    return SchemaChain(name, location, version_table=f"{name}_alembic_version")


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_the_store_chain_leaves_other_packages_tables_to_their_chains(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    try:
        assert {"alembic_version", "runs", "jobs", "steps"} <= tables(db)
        # Issue 21 §2: the audit tables moved to bastion.audit's chain (0002_audit is empty).
        assert not {name for name in tables(db) if name.startswith("audit")}
    finally:
        db.dispose()


def test_chains_keep_versions_of_their_own(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    try:
        db.ensure_schema(make_chain(tmp_path, "alpha"))
        db.ensure_schema(make_chain(tmp_path, "beta"))
        with db.engine.connect() as conn:
            versions = [
                conn.execute(text(query)).scalar_one()
                for query in (
                    "SELECT version_num FROM alpha_alembic_version",
                    "SELECT version_num FROM beta_alembic_version",
                )
            ]
        assert versions == ["alpha_0001", "beta_0001"]
        assert {"alpha", "beta", "runs"} <= tables(db)
    finally:
        db.dispose()


def test_a_chain_is_brought_up_once_per_database(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    chain = make_chain(tmp_path, "alpha")
    try:
        db.ensure_schema(chain)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE alpha"))
            conn.execute(text("DROP TABLE alpha_alembic_version"))
        db.ensure_schema(chain)  # remembered: Alembic does not run again
        assert "alpha" not in tables(db)
    finally:
        db.dispose()


def test_a_database_opened_without_migrations_is_left_alone(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"), migrate=False)
    try:
        db.ensure_schema(make_chain(tmp_path, "alpha"))
        assert tables(db) == set()
    finally:
        db.dispose()


def test_a_failing_revision_is_a_store_error_naming_its_chain(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    try:
        with pytest.raises(StoreError, match="cannot migrate the broken tables of state database"):
            db.ensure_schema(make_chain(tmp_path, "broken", sql="CREATE TABLE runs (id INTEGER)"))
    finally:
        db.dispose()


def test_a_chain_needs_an_alembic_environment(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an Alembic script directory"):
        SchemaChain("nothing", tmp_path, version_table="nothing_alembic_version")
