"""Triage: findings the security role accepts on the server, kept per repository.

An accepted finding is a :class:`bastion.policy.Suppression` like an entry of the
repository's ``.bastion/suppressions.yml``: it names one fingerprint, its owner is the person
who accepted it, and it has a reason and an expiry no later than :data:`MAX_DAYS` ahead.
:meth:`ServerSuppressions.for_repository` hands them to the gate evaluator, merged with the
file by :meth:`bastion.policy.Suppressions.merged` (the file's entries first).

    >>> store = ServerSuppressions(db, clock)                    # doctest: +SKIP
    >>> store.accept("acme/api", "3f2a…", "alice", "test fixture", date(2030, 3, 1))
    >>> evaluator = PolicyGateEvaluator(policy, file.merged(store.for_repository("acme/api")))
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Date, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from bastion.policy import Suppression, Suppressions
from bastion.server.clock import Clock
from bastion.server.errors import BadRequestError, NotFoundError
from bastion.store import Base, Database, UTCDateTime, utcnow

__all__ = ["MAX_DAYS", "Accepted", "ServerSuppressions", "SuppressionRecord"]

MAX_DAYS = 90  # a risk accepted on the server is looked at again within a quarter
_FINGERPRINT = re.compile(r"[0-9A-Za-z:._-]{8,128}")
_MAX_REASON = 2000


class SuppressionRecord(Base):
    """One accepted finding (revision ``0004_triage`` of the store's chain creates it)."""

    __tablename__ = "server_suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(1024), index=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    expires: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(128))


@dataclass(frozen=True)
class Accepted:
    """An accepted finding as the server shows it."""

    id: int
    repository: str
    suppression: Suppression
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None

    def active_on(self, today: dt.date) -> bool:
        """Not revoked and not past its last day."""
        return self.revoked_at is None and not self.suppression.expired_on(today)


def _accepted(row: SuppressionRecord) -> Accepted:
    suppression = Suppression(
        owner=row.owner,
        reason=row.reason,
        expires=row.expires,
        source=f"server:triage/{row.id}",
        fingerprint=row.fingerprint,
    )
    return Accepted(
        row.id, row.repository, suppression, row.created_at, row.revoked_at, row.revoked_by
    )


class ServerSuppressions:
    """The server's accepted findings over one database and clock."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def today(self) -> dt.date:
        """The clock's date (UTC): when an expiry is judged."""
        return self._clock().date()

    def accept(
        self, repository: str, fingerprint: str, owner: str, reason: str, expires: dt.date
    ) -> Accepted:
        """Record that ``owner`` accepts ``fingerprint`` in ``repository`` until ``expires``.

        BadRequestError for a malformed fingerprint, an empty or overlong reason, or an
        expiry in the past or more than :data:`MAX_DAYS` ahead.
        """
        today = self.today()
        if not _FINGERPRINT.fullmatch(fingerprint):
            raise BadRequestError("a fingerprint is 8 to 128 letters, digits or ':._-'")
        reason = reason.strip()
        if not reason or len(reason) > _MAX_REASON:
            raise BadRequestError(f"give a reason (at most {_MAX_REASON} characters)")
        if expires < today or expires > today + dt.timedelta(days=MAX_DAYS):
            raise BadRequestError(
                f"the expiry must be between today and {MAX_DAYS} days ahead "
                f"({(today + dt.timedelta(days=MAX_DAYS)).isoformat()})"
            )
        row = SuppressionRecord(
            repository=repository,
            fingerprint=fingerprint,
            owner=owner,
            reason=reason,
            expires=expires,
            created_at=self._clock(),
        )
        with self._db.session() as session:
            session.add(row)
            session.flush()
            return _accepted(row)

    def revoke(self, repository: str, suppression_id: int, by: str) -> Accepted:
        """End an accepted finding now; NotFoundError if it is not one of ``repository``."""
        with self._db.session() as session:
            row = session.get(SuppressionRecord, suppression_id)
            if row is None or row.repository != repository:
                raise NotFoundError(f"no suppression {suppression_id} in {repository}")
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = self._clock(), by
            return _accepted(row)

    def get(self, suppression_id: int) -> Accepted:
        """One accepted finding; NotFoundError if unknown."""
        with self._db.session() as session:
            row = session.get(SuppressionRecord, suppression_id)
            if row is None:
                raise NotFoundError(f"no suppression {suppression_id}")
            return _accepted(row)

    def list(self, repository: str | None = None) -> list[Accepted]:
        """Every accepted finding (of ``repository``), newest first, revoked ones included."""
        query = select(SuppressionRecord).order_by(SuppressionRecord.id.desc())
        if repository is not None:
            query = query.where(SuppressionRecord.repository == repository)
        with self._db.session() as session:
            return [_accepted(row) for row in session.scalars(query)]

    def for_repository(self, repository: str) -> Suppressions:
        """The unrevoked entries of ``repository`` as the gate evaluator takes them (expired
        ones included: the policy reports them as expired)."""
        entries = [a.suppression for a in self.list(repository) if a.revoked_at is None]
        return Suppressions(tuple(entries))
