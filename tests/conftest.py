"""Fixtures shared by the whole suite.

Hermetic by default: every test gets an empty ``HOME`` and ``BASTION_HOME`` of its own, so no
test reads or writes the keys, vault, databases or caches of the person running the suite.
The scanner tool environments (hundreds of MB, installed by ``make tools`` before pytest) are
shared read-only through ``$BASTION_TOOLS_DIR``; nothing in the suite installs into it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bastion.home import bastion_home
from bastion.scanners.tools.environment import TOOLS_DIR_ENV
from bastion.store import Database, open_database

# The Unix socket, not TCP: the suite runs in a network namespace of its own (loopback only;
# see the Makefile's pytest target), and a socket file reaches the machine's server from there.
POSTGRES = "postgresql+psycopg://postgres@/test?host=/var/run/postgresql"

# Read once, before any test changes HOME: where `make tools` put the environments.
_SHARED_TOOLS = Path(os.environ.get(TOOLS_DIR_ENV) or bastion_home() / "tools")


@pytest.fixture(autouse=True)
def hermetic_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An empty home for this test (``HOME`` and ``BASTION_HOME``), the shared tools read-only."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("BASTION_HOME", str(home / ".local" / "share" / "bastion"))
    monkeypatch.setenv(TOOLS_DIR_ENV, str(_SHARED_TOOLS))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    # git needs an identity for the suite's commits; a test's own config must not leak in.
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name, value in (("AUTHOR", "Bastion Tests"), ("COMMITTER", "Bastion Tests")):
        monkeypatch.setenv(f"GIT_{name}_NAME", value)
        monkeypatch.setenv(f"GIT_{name}_EMAIL", "tests@bastion.invalid")
    return home


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A migrated database on the real PostgreSQL, in a schema of its own (dropped after).

    Fails, never skips, when the server is down: the suite runs where it runs.
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = open_database(f"{POSTGRES}&options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
