"""The ``findings`` table (revision 0006_findings) on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from bastion.store import Database, open_database

COLUMNS = {
    "id",
    "run_id",
    "job",
    "gate",
    "rule_id",
    "severity",
    "path",
    "line",
    "message",
    "fingerprint",
    "new",
    "suppressed",
    "suppressed_by",
    "suppressed_reason",
}


def _check(db: Database) -> None:
    inspector = inspect(db.engine)
    assert {c["name"] for c in inspector.get_columns("findings")} == COLUMNS
    [foreign] = inspector.get_foreign_keys("findings")
    assert (foreign["referred_table"], foreign["options"].get("ondelete")) == ("runs", "CASCADE")
    indexed = {tuple(i["column_names"]) for i in inspector.get_indexes("findings")}
    assert {("run_id",), ("fingerprint",)} <= indexed


def test_findings_table_on_sqlite(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        _check(db)
    finally:
        db.dispose()


@pytest.mark.integration
def test_findings_table_on_postgresql(pg_db: Database) -> None:
    _check(pg_db)
