"""Browser sessions: random ids kept hashed, idle and absolute expiry, rotation, step-up.

The cookie holds 256 random bits; the database holds their SHA-256, so a copy of the
database opens no session. A new id is issued at sign-in, after the second factor and at
step-up (a privilege change), and the old one deleted, so an id fixed or seen before the
change is worth nothing after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from bastion.server.clock import Clock
from bastion.server.models import SessionRecord
from bastion.server.secrets_hashing import digest, new_secret
from bastion.server.settings import ServerSettings
from bastion.store import Database

__all__ = ["SessionInfo", "Sessions"]


@dataclass(frozen=True)
class SessionInfo:
    """A live session (never its id)."""

    id_hash: bytes
    user_id: int
    csrf_token: str
    created_at: datetime
    mfa_pending: bool
    stepped_up_at: datetime | None


def _info(row: SessionRecord) -> SessionInfo:
    return SessionInfo(
        row.id_hash, row.user_id, row.csrf_token, row.created_at, row.mfa_pending, row.stepped_up_at
    )


class Sessions:
    """Creates, resolves, rotates and ends sessions."""

    def __init__(self, db: Database, settings: ServerSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def start(self, user_id: int, *, mfa_pending: bool) -> tuple[str, SessionInfo]:
        """A new session of ``user_id``: the cookie value and the session."""
        raw, now = new_secret(), self.clock()
        row = SessionRecord(
            id_hash=digest(raw),
            user_id=user_id,
            csrf_token=new_secret(),
            created_at=now,
            last_seen_at=now,
            mfa_pending=mfa_pending,
            stepped_up_at=None,
        )
        with self.db.session() as session:
            session.add(row)
        return raw, _info(row)

    def resolve(self, raw: str) -> SessionInfo | None:
        """The live session of cookie ``raw`` (its idle clock restarted), or None if expired."""
        now = self.clock()
        with self.db.session() as session:
            row = session.get(SessionRecord, digest(raw))
            if row is None:
                return None
            idle = now - row.last_seen_at > self.settings.session_idle
            if idle or now - row.created_at > self.settings.session_absolute:
                session.delete(row)
                return None
            row.last_seen_at = now
            return _info(row)

    def rotate(
        self, raw: str, *, mfa_pending: bool | None = None, stepped_up: bool = False
    ) -> tuple[str, SessionInfo] | None:
        """Replace session ``raw`` by a new id and CSRF token; its absolute expiry stays."""
        now = self.clock()
        new_raw = new_secret()
        with self.db.session() as session:
            old = session.get(SessionRecord, digest(raw))
            if old is None:
                return None
            row = SessionRecord(
                id_hash=digest(new_raw),
                user_id=old.user_id,
                csrf_token=new_secret(),
                created_at=old.created_at,
                last_seen_at=now,
                mfa_pending=old.mfa_pending if mfa_pending is None else mfa_pending,
                stepped_up_at=now if stepped_up else old.stepped_up_at,
            )
            session.delete(old)
            session.flush()
            session.add(row)
            return new_raw, _info(row)

    def end(self, raw: str) -> None:
        """Delete session ``raw`` (sign-out)."""
        with self.db.session() as session:
            session.execute(delete(SessionRecord).where(SessionRecord.id_hash == digest(raw)))
