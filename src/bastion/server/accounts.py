"""People: adding, one-time setup links, signing in, disabling, roles.

A new account has no password: it gets a one-time setup link (24 h) where its holder picks
one. The first admin is made the same way by :meth:`Accounts.bootstrap_admin` when the
database holds no account, so no default password ever exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bastion.server.clock import Clock
from bastion.server.errors import ConflictError, NotFoundError
from bastion.server.models import GrantRecord, RecoveryCodeRecord, SessionRecord, UserRecord
from bastion.server.names import check_name
from bastion.server.passwords import (
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from bastion.server.permissions import Role, ScopeKind
from bastion.server.principal import Grant
from bastion.server.secrets_hashing import digest, new_secret
from bastion.server.settings import ServerSettings
from bastion.store import Database

__all__ = ["FIRST_ADMIN", "Accounts", "User", "user_of"]

FIRST_ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """An account as the rest of the server sees it (no hashes)."""

    id: int
    name: str
    disabled: bool
    mfa: bool
    created_at: datetime
    grants: tuple[Grant, ...]


def _grants(session: Session, user_id: int) -> tuple[Grant, ...]:
    rows = session.scalars(select(GrantRecord).where(GrantRecord.user_id == user_id))
    return tuple(
        sorted(
            (Grant(Role(r.role), ScopeKind(r.scope_kind), r.scope_name) for r in rows),
            key=lambda g: (g.scope, g.name, g.role),
        )
    )


def _user(session: Session, row: UserRecord) -> User:
    mfa = row.totp_secret is not None
    return User(row.id, row.name, row.disabled, mfa, row.created_at, _grants(session, row.id))


def user_of(session: Session, row: UserRecord) -> User:
    """``row`` as a :class:`User`, its grants read in ``session``: for a caller that already
    holds a unit of work (a token lookup), so one request opens one session, not two."""
    return _user(session, row)


class Accounts:
    """The user table's operations; every name is checked with :func:`check_name`."""

    def __init__(self, db: Database, settings: ServerSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def add(self, name: str, role: Role | None = None) -> tuple[User, str]:
        """Create ``name`` (with ``role`` on the instance); returns it and its setup token."""
        check_name(name, "user name")
        token = new_secret()
        with self.db.session() as session:
            if session.scalar(select(UserRecord.id).where(UserRecord.name == name)) is not None:
                raise ConflictError(f"user {name} exists already")
            row = UserRecord(
                name=name,
                disabled=False,
                setup_hash=digest(token),
                setup_expires_at=self.clock() + self.settings.setup_link_lifetime,
                created_at=self.clock(),
            )
            session.add(row)
            session.flush()
            if role is not None:
                session.add(GrantRecord(user_id=row.id, role=role.value, scope_kind="instance"))
                session.flush()
            return _user(session, row), token

    def bootstrap_admin(self) -> str | None:
        """The setup token of a new first admin when no account exists, else None."""
        with self.db.session() as session:
            if session.scalar(select(func.count()).select_from(UserRecord)):
                return None
        return self.add(FIRST_ADMIN, Role.ADMIN)[1]

    def setup_link(self, token: str) -> str:
        """The one-time link a new account's holder opens."""
        return f"{self.settings.base_url}/setup/{token}"

    def holder_of_setup(self, token: str) -> User | None:
        """The account whose unexpired setup link carries ``token``."""
        with self.db.session() as session:
            row = session.scalar(select(UserRecord).where(UserRecord.setup_hash == digest(token)))
            if row is None or row.disabled or row.setup_expires_at is None:
                return None
            if row.setup_expires_at <= self.clock():
                return None
            return _user(session, row)

    def complete_setup(self, token: str, password: str) -> User:
        """Set the password of the link's account and spend the link; NotFoundError if dead."""
        holder = self.holder_of_setup(token)
        if holder is None:
            raise NotFoundError("this setup link is unknown, used or expired")
        check_password_strength(password, holder.name)
        with self.db.session() as session:
            row = session.get_one(UserRecord, holder.id)
            row.password_hash = hash_password(password)
            row.setup_hash = None
            row.setup_expires_at = None
            return _user(session, row)

    def authenticate(self, name: str, password: str) -> User | None:
        """The enabled account ``name`` if ``password`` is its password, else None."""
        with self.db.session() as session:
            row = session.scalar(select(UserRecord).where(UserRecord.name == name))
            hashed = row.password_hash if row is not None else None
            if not verify_password(hashed, password) or row is None or row.disabled:
                return None
            if hashed is not None and needs_rehash(hashed):
                row.password_hash = hash_password(password)
            return _user(session, row)

    def get(self, user_id: int) -> User | None:
        """The account with id ``user_id``."""
        with self.db.session() as session:
            row = session.get(UserRecord, user_id)
            return None if row is None else _user(session, row)

    def by_name(self, name: str) -> User:
        """The account called ``name``; NotFoundError if none."""
        with self.db.session() as session:
            row = session.scalar(select(UserRecord).where(UserRecord.name == name))
            if row is None:
                raise NotFoundError(f"no user {name}")
            return _user(session, row)

    def list(self) -> list[User]:
        """Every account, by name."""
        with self.db.session() as session:
            rows = session.scalars(select(UserRecord).order_by(UserRecord.name)).all()
            return [_user(session, row) for row in rows]

    def disable(self, name: str) -> User:
        """Disable ``name`` and end its sessions (its tokens stop working with it)."""
        with self.db.session() as session:
            row = self._row(session, name)
            row.disabled = True
            session.execute(delete(SessionRecord).where(SessionRecord.user_id == row.id))
            return _user(session, row)

    def reset_mfa(self, name: str) -> User:
        """Forget ``name``'s TOTP secret and recovery codes, and end its sessions."""
        with self.db.session() as session:
            row = self._row(session, name)
            row.totp_secret = row.totp_pending = None
            row.totp_last_step = None
            session.execute(delete(RecoveryCodeRecord).where(RecoveryCodeRecord.user_id == row.id))
            session.execute(delete(SessionRecord).where(SessionRecord.user_id == row.id))
            return _user(session, row)

    def grant(self, name: str, grant: Grant) -> User:
        """Give ``name`` a role; its sessions end, so privileges change only at a new login."""
        if grant.scope is not ScopeKind.INSTANCE:
            check_name(grant.name, f"{grant.scope.value} name")
        with self.db.session() as session:
            row = self._row(session, name)
            scope_name = "" if grant.scope is ScopeKind.INSTANCE else grant.name
            if grant not in _grants(session, row.id):
                session.add(
                    GrantRecord(
                        user_id=row.id,
                        role=grant.role.value,
                        scope_kind=grant.scope.value,
                        scope_name=scope_name,
                    )
                )
            session.execute(delete(SessionRecord).where(SessionRecord.user_id == row.id))
            session.flush()
            return _user(session, row)

    @staticmethod
    def _row(session: Session, name: str) -> UserRecord:
        row = session.scalar(select(UserRecord).where(UserRecord.name == name))
        if row is None:
            raise NotFoundError(f"no user {name}")
        return row
