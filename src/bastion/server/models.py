"""The server's tables: users, sessions, API tokens, role grants, recovery codes, sign-ins.

Secrets are never stored: passwords as argon2id hashes, session ids, API tokens, setup
links and recovery codes as SHA-256 of 256-bit (or 80-bit for recovery codes) random values,
which no one can invert or guess. Created by revision ``0003_server`` of the store's chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store import Base, UTCDateTime, utcnow

__all__ = [
    "SERVER_TABLES",
    "ApiTokenRecord",
    "GrantRecord",
    "LoginAttemptRecord",
    "RecoveryCodeRecord",
    "SessionRecord",
    "UserRecord",
]


class UserRecord(Base):
    """A person who signs in; ``password_hash`` is None until the setup link is used."""

    __tablename__ = "server_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    setup_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    setup_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionRecord(Base):
    """A browser session; ``id_hash`` is SHA-256 of the cookie value."""

    __tablename__ = "server_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("server_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mfa_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    stepped_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiTokenRecord(Base):
    """An API token: scoped to repositories × permissions, expiring, revocable."""

    __tablename__ = "server_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("server_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GrantRecord(Base):
    """A role held on the instance (``scope_kind`` 'instance', name ''), a repository or an
    environment."""

    __tablename__ = "server_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("server_users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_name: Mapped[str] = mapped_column(String(1024), default="")


class RecoveryCodeRecord(Base):
    """One single-use MFA recovery code, hashed; ``used_at`` set when spent."""

    __tablename__ = "server_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("server_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttemptRecord(Base):
    """One sign-in attempt, kept for throttling (per account and per address)."""

    __tablename__ = "server_login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(128), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    success: Mapped[bool] = mapped_column(Boolean)


SERVER_TABLES = frozenset(
    str(m.__tablename__)
    for m in (
        UserRecord,
        SessionRecord,
        ApiTokenRecord,
        GrantRecord,
        RecoveryCodeRecord,
        LoginAttemptRecord,
    )
)
