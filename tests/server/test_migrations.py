"""Revision 0003_server: fresh SQLite and PostgreSQL databases, and wave-1 databases upgraded.

The tables the revision makes must be the ones bastion/server/models.py declares (Alembic's
autogenerate comparison finds no difference), the server must work on them, and a wave-1
database (rebuilt as tests/audit/test_audit_migrations.py does) keeps its audit events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

import bastion.server.models  # noqa: F401 - registers the server's tables on Base.metadata
from bastion.server import Accounts, Role, ServerSettings
from bastion.store import Base, Database, open_database, sqlite_url
from bastion.store.schema import STORE_CHAIN
from tests.audit.test_audit_migrations import make_wave1_database, upgrade_and_verify
from tests.conftest import POSTGRES
from tests.server.conftest import PASSWORD

STORE_HEAD = ScriptDirectory(str(STORE_CHAIN.script_location)).get_current_head()
SERVER_TABLES = {
    "server_users",
    "server_sessions",
    "server_api_tokens",
    "server_grants",
    "server_recovery_codes",
    "server_login_attempts",
}


def _server_object(obj: object, name: str | None, type_: str, *_rest: object) -> bool:
    if type_ == "table":
        return name in SERVER_TABLES
    table = getattr(obj, "table", None)
    return getattr(table, "name", None) in SERVER_TABLES


def drift(engine: Engine) -> list[object]:
    """Differences between the database's server tables and the models (none expected)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _server_object})
        return list(compare_metadata(context, Base.metadata))


def store_revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def accounts_work(db: Database) -> None:
    """The server's own tables in use: an account set up, signed in, granted, disabled."""
    clock = lambda: datetime(2030, 1, 1, tzinfo=UTC)  # noqa: E731
    accounts = Accounts(db, ServerSettings("127.0.0.1", 8080, "unused"), clock)
    user, token = accounts.add("alice", Role.MAINTAINER)
    accounts.complete_setup(token, PASSWORD)
    assert accounts.authenticate("alice", PASSWORD) == accounts.by_name("alice")
    assert [g.role for g in user.grants] == [Role.MAINTAINER]
    assert accounts.disable("alice").disabled


def check_server_schema(db: Database) -> None:
    assert set(inspect(db.engine).get_table_names()) >= SERVER_TABLES
    assert store_revision(db.engine) == STORE_HEAD  # 0003_server and all after it
    assert drift(db.engine) == []
    accounts_work(db)


def test_a_fresh_sqlite_database_gets_the_server_tables(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "server.db"))
    try:
        check_server_schema(db)
    finally:
        db.dispose()


@pytest.mark.integration
def test_a_fresh_postgresql_database_gets_the_server_tables(pg_db: Database) -> None:
    check_server_schema(pg_db)


@contextmanager
def database_at(tmp_path: Path, revision: str) -> Iterator[tuple[str, Engine]]:
    """A new SQLite store (``tmp_path/server.db``) migrated to head, then down to
    ``revision``: its URL and an engine on it, disposed on leaving."""
    url = sqlite_url(tmp_path / "server.db")
    open_database(url).dispose()
    engine = create_engine(url)
    try:
        _downgrade(engine, revision)
        assert store_revision(engine) == revision
        yield url, engine
    finally:
        engine.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(STORE_CHAIN.script_location))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["version_table"] = STORE_CHAIN.version_table
        command.downgrade(config, revision)


def test_0003_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "server.db")
    open_database(url).dispose()
    engine = create_engine(url)
    try:
        _downgrade(engine, "0002_audit")
        assert not SERVER_TABLES & set(inspect(engine).get_table_names())
        assert store_revision(engine) == "0002_audit"
    finally:
        engine.dispose()
    db = open_database(url)
    try:
        check_server_schema(db)
    finally:
        db.dispose()


def test_a_wave1_sqlite_database_upgrades_to_0003(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.db")
    make_wave1_database(url, tmp_path / "wave1")
    upgrade_and_verify(url)  # both chains at their heads, the 7 wave-1 events verify
    db = open_database(url)
    try:
        check_server_schema(db)
    finally:
        db.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty schema of its own on the real PostgreSQL (dropped after); fails if it is down.

    Not pg_db: the wave-1 database must be made by the old chain before anything migrates it.
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}&options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.integration
def test_a_wave1_postgresql_database_upgrades_to_0003(pg_url: str, tmp_path: Path) -> None:
    make_wave1_database(pg_url, tmp_path / "wave1")
    upgrade_and_verify(pg_url)
    db = open_database(pg_url)
    try:
        check_server_schema(db)
    finally:
        db.dispose()
