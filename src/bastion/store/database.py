"""Open a state database (SQLite in WAL mode, or PostgreSQL) and bring it to the newest schema.

    >>> from bastion.store import open_database
    >>> db = open_database("sqlite:///:memory:")
    >>> with db.session() as s: ...

Migrations are Alembic's, shipped inside the package and run on open, so a user never runs
them by hand. The store's chain (runs, jobs, steps) runs here; every other package that owns
tables keeps its own chain and version table (:mod:`bastion.store.schema`) and brings it up
with :meth:`Database.ensure_schema` when it opens its tables, so the store imports none of them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bastion.errors import StoreError
from bastion.store.schema import STORE_CHAIN, SchemaChain, upgrade_chain

__all__ = ["Database", "open_database", "sqlite_url"]

# Connections kept per engine: the server's worker threads (anyio's default limiter, 40) each
# hold at most one session at a time, and so does the event loop; the overflow covers
# background threads (launcher, watcher). SQLAlchemy's default (5 + 10) made requests queue
# for a connection under load. Connections open lazily: an idle process holds few.
_POOL_SIZE = 40
_POOL_OVERFLOW = 10


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


class Database:
    """An engine plus a session factory; sessions commit on success, roll back on error.

    ``migrate=False``: the caller vouches that every chain is current (a reader of a database
    another process writes), so :meth:`ensure_schema` leaves it alone. ``current``: chains
    the opener has just brought up.
    """

    def __init__(
        self, engine: Engine, *, migrate: bool = True, current: Iterable[SchemaChain] = ()
    ) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._migrate = migrate
        self._current = set(current)
        self._current_lock = threading.Lock()

    def ensure_schema(self, chain: SchemaChain) -> None:
        """Upgrade ``chain`` to its head, once per Database; StoreError if that fails."""
        if not self._migrate:
            return
        with self._current_lock:
            if chain in self._current:
                return
            try:
                upgrade_chain(self.engine, chain)
            except SQLAlchemyError as exc:
                raise StoreError(
                    f"cannot migrate the {chain.name} tables of state database "
                    f"{engine_label(self.engine.url.render_as_string())}: {exc}",
                    hint="check that the database server runs and the URL is right",
                ) from exc
            self._current.add(chain)

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
        else:
            kwargs.update(pool_size=_POOL_SIZE, max_overflow=_POOL_OVERFLOW)
    else:
        kwargs.update(pool_size=_POOL_SIZE, max_overflow=_POOL_OVERFLOW)
        # A server that went away and came back: test each pooled connection before use,
        # so the first request after a restart is not answered with a dead connection.
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        if migrate:
            upgrade_chain(engine, STORE_CHAIN)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot open state database {engine_label(url)}: {exc}",
            hint="check that the database server runs and the URL is right",
        ) from exc
    return Database(engine, migrate=migrate, current=(STORE_CHAIN,) if migrate else ())


def engine_label(url: str) -> str:
    """The URL without any password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
