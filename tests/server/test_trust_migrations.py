"""The server revisions after 0009_approvals (issue 14, part A: 0010_signed_commits,
0011_deploy_windows): a database made before them keeps its repositories and environments,
which gain the new settings empty (requiring nothing more than before), and the tables
match the models on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

import bastion.server.models  # noqa: F401 - registers the server's tables on Base.metadata
from bastion.server.environments import Environments
from bastion.server.repositories import Repositories
from bastion.store import Base, Database, open_database, sqlite_url
from tests.server.test_migrations import database_at

TABLES = {"server_repositories", "server_environments"}
BEFORE = "0009_approvals"


def _ours(obj: object, name: str | None, type_: str, *_rest: object) -> bool:
    if type_ == "table":
        return name in TABLES
    return getattr(getattr(obj, "table", None), "name", None) in TABLES


def drift(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ours})
        return list(compare_metadata(context, Base.metadata))


def test_a_fresh_database_matches_the_models(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path / "server.db"))
    try:
        assert drift(db.engine) == []
    finally:
        db.dispose()


@pytest.mark.integration
def test_a_fresh_postgresql_database_matches_the_models(pg_db: Database) -> None:
    assert drift(pg_db.engine) == []


def test_a_0009_database_upgrades_keeping_its_rows(tmp_path: Path) -> None:
    with database_at(tmp_path, BEFORE) as (url, engine), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO server_repositories (name, path, default_branch, "
                "protected_branches, added_by, poll_seconds, heads, created_at) VALUES "
                "('old', '/srv/old.git', 'main', '[]', 'setup', 60, '{}', "
                "'2030-01-01 00:00:00.000000')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO server_environments (name, required_approvals, allowed_refs, "
                "required_trust, wait_timer, request_timeout, approval_ttl) VALUES "
                "('production', 2, '[\"refs/heads/main\"]', 'trusted', 0, 3600, 3600)"
            )
        )
    db = open_database(url)
    try:
        assert drift(db.engine) == []
        old = Repositories(db, lambda: datetime(2030, 1, 1, tzinfo=UTC)).get("old")
        assert old.signed_branches == ()
        assert not old.requires_signed_commits("main")
        production = Environments(db).get("production")
        assert production is not None
        assert production.deploy_windows == ()
    finally:
        db.dispose()
