"""The learned baseline: what each rule has seen before, kept in ``monitor_baseline``.

Held in memory while an evaluator runs (a set per kind and scope); values learned since the
last :meth:`StoredBaseline.flush` are written in the evaluator's transaction, together with
its cursor, so a crash never learns a value without also having judged its event.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.monitor.models import BaselineRecord
from bastion.store import Database

__all__ = ["MemoryBaseline", "StoredBaseline"]


class MemoryBaseline:
    """A baseline in memory only (tests, benchmarks, a dry run)."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], set[str]] = {}
        self.pending: list[tuple[str, str, str]] = []

    def learn(self, kind: str, scope: str, value: str) -> bool:
        """Record ``value`` under (kind, scope); True if it was new there."""
        values = self._values.setdefault((kind, scope), set())
        if value in values:
            return False
        values.add(value)
        self.pending.append((kind, scope, value))
        return True

    def seen(self, kind: str, scope: str, value: str) -> bool:
        """True if ``value`` was learned under (kind, scope)."""
        return value in self._values.get((kind, scope), ())

    def known(self, kind: str, scope: str) -> bool:
        """True if anything was learned under (kind, scope)."""
        return bool(self._values.get((kind, scope)))


def _digest(kind: str, scope: str, value: str) -> str:
    return hashlib.sha256("\0".join((kind, scope, value)).encode()).hexdigest()


class StoredBaseline(MemoryBaseline):
    """A baseline loaded from and written to the database."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        with db.session() as session:
            for kind, scope, value in session.execute(
                select(BaselineRecord.kind, BaselineRecord.scope, BaselineRecord.value)
            ):
                self._values.setdefault((kind, scope), set()).add(value)

    def flush(self, session: Session) -> None:
        """Write what was learned since the last flush (in the caller's transaction)."""
        learned = {_digest(k, s, v): (k, s, v) for k, s, v in self.pending}
        digests = sorted(learned)
        stored: set[str] = set()
        for start in range(0, len(digests), 500):  # one query per 500 values, not per value
            chunk = digests[start : start + 500]
            stored.update(
                session.scalars(
                    select(BaselineRecord.digest).where(BaselineRecord.digest.in_(chunk))
                )
            )
        session.add_all(
            BaselineRecord(digest=digest, kind=kind[:64], scope=scope[:1024], value=value[:1024])
            for digest, (kind, scope, value) in learned.items()
            if digest not in stored
        )
        self.pending.clear()
