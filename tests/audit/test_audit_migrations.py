"""The audit log's own Alembic chain: fresh databases, and wave-1 databases it adopts.

A wave-1 database was made when the store's revision ``0002_audit`` still created the audit
tables (tests/data/store/wave1_0002_audit.py is that revision, from commit de22ac1). The old
chain is rebuilt here from it and written to by a log that does not migrate (as the code of
that time did), then opened as today: its events must survive and still verify.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from bastion.audit import AuditEvent, AuditLog, open_local_log
from bastion.audit.models import AUDIT_CHAIN
from bastion.cli.audit import register
from bastion.errors import StoreError
from bastion.home import bastion_home
from bastion.store import SchemaChain, open_database, sqlite_url
from bastion.store.schema import STORE_CHAIN, upgrade_chain

DATA = Path(__file__).parents[1] / "data" / "store"
# The Unix socket, as tests/conftest.py's pg_db (the suite has no network).
POSTGRES = "postgresql+psycopg://postgres@/test?host=/var/run/postgresql"
WAVE1_ENV = """\
from bastion.store import Base, run_chain_environment

run_chain_environment(Base.metadata, owned=frozenset())
"""


def head(chain: SchemaChain) -> str:
    current = ScriptDirectory(str(chain.script_location)).get_current_head()
    assert current is not None
    return current


def versions(url: str) -> tuple[str, str | None]:
    """The store's and the audit chain's revisions (None: the audit chain never ran)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            store = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            if not inspect(conn).has_table("audit_alembic_version"):
                return store, None
            audit = conn.execute(text("SELECT version_num FROM audit_alembic_version")).scalar_one()
            return store, audit
    finally:
        engine.dispose()


def make_events(count: int, start: int = 0) -> list[AuditEvent]:
    """Events dated now, so that verification's age rule has nothing to say."""
    return [
        AuditEvent(actor="ci", action="job.finished", subject=f"run/1/job/{i}", details={"i": i})
        for i in range(start, start + count)
    ]


def wave1_chain(root: Path) -> SchemaChain:
    """The store's chain as of de22ac1: 0001_core, then 0002_audit creating the audit tables."""
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(WAVE1_ENV)
    shutil.copy(STORE_CHAIN.script_location / "versions" / "0001_core.py", root / "versions")
    shutil.copy(DATA / "wave1_0002_audit.py", root / "versions" / "0002_audit.py")
    return SchemaChain("wave-1 store", root, version_table="alembic_version")


def make_wave1_database(url: str, root: Path) -> None:
    """Migrate ``url`` with the old chain; log 7 events, the first 5 under a checkpoint."""
    engine = create_engine(url)
    try:
        upgrade_chain(engine, wave1_chain(root))
    finally:
        engine.dispose()
    db = open_database(url, migrate=False)  # the old code's log: no audit chain of its own
    try:
        log, _ = open_local_log(db, bastion_home())
        log.append_many(make_events(5))
        log.checkpoint()
        log.append_many(make_events(2, start=5))
    finally:
        db.dispose()
    assert versions(url) == ("0002_audit", None)


def upgrade_and_verify(url: str) -> None:
    """Open ``url`` as today: both chains reach their heads, the log verifies and grows."""
    db = open_database(url)
    try:
        log, _ = open_local_log(db, bastion_home())
        report = log.verify()
        assert (report.size, report.checkpoint_size, report.unsealed) == (7, 5, 2)
        log.append_many(make_events(3, start=7))
        log.checkpoint()
        assert log.verify().size == 10
        assert log.entry(6).event.details == {"i": 6}
    finally:
        db.dispose()
    assert versions(url) == (head(STORE_CHAIN), head(AUDIT_CHAIN))


def audit_verify(url: str) -> dict[str, object]:
    """``bastion audit verify --db URL --json``, in process."""
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Keep `audit` a sub-command."""

    result = CliRunner().invoke(app, ["audit", "verify", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def audit_ddl(url: str) -> dict[str, str]:
    """SQLite's stored DDL of the audit tables and indexes."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE name LIKE 'audit%' "
                    "AND name != 'audit_alembic_version'"
                )
            )
            return {str(name): str(sql) for name, sql in rows}
    finally:
        engine.dispose()


def test_a_fresh_database_gets_both_chains(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.db")
    db = open_database(url)
    try:
        assert not inspect(db.engine).has_table("audit_events")  # the store makes none
        log = AuditLog(db, witness=None)
        assert log.size() == 0
    finally:
        db.dispose()
    assert versions(url) == (head(STORE_CHAIN), head(AUDIT_CHAIN))


def test_a_wave1_sqlite_database_keeps_its_events(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.db")
    make_wave1_database(url, tmp_path / "wave1")
    wave1_ddl = audit_ddl(url)
    report = audit_verify(url)
    assert (report["ok"], report["size"], report["checkpoint_size"]) == (True, 7, 5)
    upgrade_and_verify(url)
    fresh = sqlite_url(tmp_path / "fresh.db")
    AuditLog(open_database(fresh), witness=None).db.dispose()
    assert audit_ddl(url) == wave1_ddl == audit_ddl(fresh)  # adopted as is, same as new


def test_incomplete_audit_tables_are_refused(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "state.db"))
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE audit_events (seq INTEGER PRIMARY KEY)"))
        with pytest.raises(StoreError, match="audit_checkpoints, audit_head, audit_nodes missing"):
            AuditLog(db, witness=None)
    finally:
        db.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty schema of its own on the real PostgreSQL (dropped after); fails if it is down."""
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
def test_a_wave1_postgresql_database_keeps_its_events(pg_url: str, tmp_path: Path) -> None:
    make_wave1_database(pg_url, tmp_path / "wave1")
    upgrade_and_verify(pg_url)


@pytest.mark.integration
def test_a_fresh_postgresql_database_gets_both_chains(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        AuditLog(db, witness=None)
    finally:
        db.dispose()
    assert versions(pg_url) == (head(STORE_CHAIN), head(AUDIT_CHAIN))
