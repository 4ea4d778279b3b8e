"""Open a state database (SQLite in WAL mode, or PostgreSQL) and bring it to the newest schema.

    >>> from bastion.store import open_database
    >>> db = open_database("sqlite:///:memory:")
    >>> with db.session() as s: ...

Migrations are Alembic's, shipped inside the package and run on open, so a user never runs
them by hand. Every package that owns tables adds its own revision branching from the core
revision; ``upgrade heads`` brings all branches up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bastion.errors import StoreError

__all__ = ["Database", "open_database", "sqlite_url"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATE_LOCK = threading.Lock()


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


class Database:
    """An engine plus a session factory; sessions commit on success, roll back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(f"state database error: {exc}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open ``url`` and migrate it to the newest schema; StoreError if either fails."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        if ":memory:" in url or url == "sqlite://":
            kwargs["poolclass"] = StaticPool
    try:
        engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        if migrate:
            _upgrade(engine)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot open state database {engine_label(url)}: {exc}",
            hint="check that the database server runs and the URL is right",
        ) from exc
    return Database(engine)


def engine_label(url: str) -> str:
    """The URL without any password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _upgrade(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with _MIGRATE_LOCK, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
