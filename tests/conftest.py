"""Fixtures shared by the whole suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from bastion.store import Database, open_database

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1/test"


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A migrated database on the real PostgreSQL, in a schema of its own (dropped after).

    Fails, never skips, when the server is down: the suite runs where it runs.
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = open_database(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
