"""API tokens: 256 random bits shown once, kept as SHA-256, scoped, expiring, revocable.

A token reads ``bst_`` followed by 43 URL-safe characters; the prefix lets secret scanners
(Bastion's own among them) recognise a leaked one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bastion.server.accounts import User, user_of
from bastion.server.clock import Clock
from bastion.server.errors import BadRequestError, NotFoundError
from bastion.server.models import ApiTokenRecord, UserRecord
from bastion.server.names import check_name
from bastion.server.permissions import Permission
from bastion.server.principal import ANY_REPOSITORY, TokenScope
from bastion.server.secrets_hashing import digest, new_secret
from bastion.server.settings import ServerSettings
from bastion.store import Database

__all__ = ["LAST_USED_PRECISION", "TOKEN_PREFIX", "ApiTokens", "TokenInfo"]

TOKEN_PREFIX = "bst_"  # noqa: S105 - a prefix, not a secret
# How stale a token's ``last_used_at`` may be. Writing it on every request turned each read
# into a write of the same row: on PostgreSQL, concurrent requests of one token queued on
# that row's lock. To the minute is what the token list shows.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never its value)."""

    id: int
    user_id: int
    name: str
    scope: TokenScope
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _info(row: ApiTokenRecord) -> TokenInfo:
    scope = TokenScope(
        frozenset(row.scope.get("repositories", [])),
        frozenset(Permission(p) for p in row.scope.get("permissions", [])),
    )
    return TokenInfo(
        row.id,
        row.user_id,
        row.name,
        scope,
        row.created_at,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )


class ApiTokens:
    """Creates, authenticates, lists and revokes API tokens."""

    def __init__(self, db: Database, settings: ServerSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def create(
        self, user_id: int, name: str, scope: TokenScope, days: int
    ) -> tuple[TokenInfo, str]:
        """A new token of ``user_id``: its listing and its value (shown once, never stored)."""
        check_name(name, "token name")
        for repository in scope.repositories:
            if repository != ANY_REPOSITORY:
                check_name(repository, "repository name")
        if not 1 <= days <= self.settings.max_token_days:
            raise BadRequestError(
                f"a token expires in 1 to {self.settings.max_token_days} days, not {days}"
            )
        if not scope.permissions or not scope.repositories:
            raise BadRequestError("a token needs at least one permission and one repository")
        value = new_secret(TOKEN_PREFIX)
        now = self.clock()
        row = ApiTokenRecord(
            user_id=user_id,
            name=name,
            token_hash=digest(value),
            scope={
                "repositories": sorted(scope.repositories),
                "permissions": sorted(p.value for p in scope.permissions),
            },
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        with self.db.session() as session:
            session.add(row)
            session.flush()
            return _info(row), value

    def authenticate(self, value: str) -> TokenInfo | None:
        """The live token ``value`` of an enabled user, its last use recorded; else None."""
        found = self.authenticate_holder(value)
        return found[0] if found is not None else None

    def authenticate_holder(self, value: str) -> tuple[TokenInfo, User] | None:
        """As :meth:`authenticate`, with the token's holder read in the same session; its
        last use is written when unset or older than :data:`LAST_USED_PRECISION`."""
        if not value.startswith(TOKEN_PREFIX):
            return None
        now = self.clock()
        with self.db.session() as session:
            found = session.execute(
                select(ApiTokenRecord, UserRecord)
                .join(UserRecord, UserRecord.id == ApiTokenRecord.user_id)
                .where(ApiTokenRecord.token_hash == digest(value))
            ).one_or_none()
            if found is None:
                return None
            row, holder = found
            if row.revoked_at is not None or row.expires_at <= now or holder.disabled:
                return None
            last = row.last_used_at
            if last is None or not timedelta(0) <= now - last < LAST_USED_PRECISION:
                row.last_used_at = now  # unset, a minute old, or ahead of a clock set back
            return _info(row), user_of(session, holder)

    def list(self, user_id: int) -> list[TokenInfo]:
        """The tokens of ``user_id``, newest first (revoked and expired included)."""
        with self.db.session() as session:
            rows = session.scalars(
                select(ApiTokenRecord)
                .where(ApiTokenRecord.user_id == user_id)
                .order_by(ApiTokenRecord.id.desc())
            )
            return [_info(row) for row in rows]

    def revoke(self, user_id: int, token_id: int) -> TokenInfo:
        """Revoke a token of ``user_id``; NotFoundError for anyone else's (no hint it exists)."""
        with self.db.session() as session:
            row = session.get(ApiTokenRecord, token_id)
            if row is None or row.user_id != user_id:
                raise NotFoundError(f"no token {token_id}")
            if row.revoked_at is None:
                row.revoked_at = self.clock()
            return _info(row)
