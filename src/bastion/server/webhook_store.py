"""Webhook settings per repository and the delivery record that is also the replay cache.

A delivery id is claimed before anything is fetched or started: a second claim of the same
(forge, id) is refused while its record lives (409), so a replayed delivery starts nothing.
A delivery that failed (the commit could not be fetched) may be claimed again: that is the
forge's redelivery (GitHub, GitLab and Gitea resend with the same id), and it must be able to
succeed. Records expire after ``retention``; expired ones are pruned on the next claim.
Tables created by revision ``0008_webhooks``.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bastion.server.clock import Clock
from bastion.server.errors import BadRequestError, ConflictError, NotFoundError
from bastion.server.names import check_name
from bastion.server.webhook_signatures import Forge, WebhookSecret
from bastion.store import Base, Database, UTCDateTime

__all__ = [
    "DEFAULT_RETENTION",
    "Deliveries",
    "DeliveryRecord",
    "DeliveryStatus",
    "WebhookConfig",
    "WebhookRecord",
    "Webhooks",
]

DEFAULT_RETENTION = timedelta(days=30)


class DeliveryStatus(enum.StrEnum):
    """Where a delivery got to."""

    RECEIVED = "received"  # claimed, being handled
    QUEUED = "queued"  # a run was queued
    IGNORED = "ignored"  # an event that starts no run
    FAILED = "failed"  # see reason; a redelivery may succeed


class WebhookRecord(Base):
    """A repository's webhook: which forge, its secret, where its commits are fetched."""

    __tablename__ = "server_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(128), unique=True)
    forge: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(String(256))
    signing_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    clone_url: Mapped[str] = mapped_column(String(2048))
    # Set through the API (bastion.server.webhook_config, revision 0012_webhook_times);
    # None for a webhook made before or written here directly.
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryRecord(Base):
    """One delivery, kept until ``expires_at`` (the replay cache)."""

    __tablename__ = "server_webhook_deliveries"
    __table_args__ = (UniqueConstraint("forge", "delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    forge: Mapped[str] = mapped_column(String(16))
    delivery: Mapped[str] = mapped_column(String(128))
    repo: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WebhookConfig:
    """A repository's webhook settings as the intake uses them."""

    def __init__(self, repo: str, forge: Forge, secret: WebhookSecret, clone_url: str) -> None:
        self.repo, self.forge, self.secret, self.clone_url = repo, forge, secret, clone_url


def _check_clone_url(url: str) -> str:
    if url.startswith("-") or not url.startswith(("https://", "git://", "file:///", "ssh://")):
        raise BadRequestError("the clone URL must be https://, ssh://, git:// or file:///")
    if any(c.isspace() or ord(c) < 32 for c in url) or len(url) > 2048:
        raise BadRequestError("the clone URL holds a space or a control character")
    return url


class Webhooks:
    """Webhook settings per registered repository."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def configure(
        self,
        repo: str,
        forge: Forge,
        secret: str,
        clone_url: str,
        *,
        signing_key: str | None = None,
    ) -> None:
        """Set (or replace) ``repo``'s webhook; BadRequestError for a weak secret or a bad URL."""
        check_name(repo, "repository name")
        if len(secret) < 16 or len(secret) > 256:
            raise BadRequestError("a webhook secret has 16 to 256 characters")
        url = _check_clone_url(clone_url)
        with self._db.session() as session:
            row = session.scalar(select(WebhookRecord).where(WebhookRecord.repo == repo))
            if row is None:
                row = WebhookRecord(repo=repo)
                session.add(row)
            row.forge, row.secret, row.signing_key, row.clone_url = (
                forge.value,
                secret,
                signing_key,
                url,
            )

    def get(self, repo: str, forge: Forge) -> WebhookConfig:
        """The webhook of ``repo`` for ``forge``; NotFoundError (404) if there is none."""
        with self._db.session() as session:
            row = session.scalar(select(WebhookRecord).where(WebhookRecord.repo == repo))
            if row is None or row.forge != forge.value:
                raise NotFoundError(f"no {forge.value} webhook for repository {repo}")
            secret = WebhookSecret(row.secret, row.signing_key)
            return WebhookConfig(row.repo, forge, secret, row.clone_url)


class Deliveries:
    """The delivery records over one database and clock."""

    def __init__(
        self, db: Database, clock: Clock, retention: timedelta = DEFAULT_RETENTION
    ) -> None:
        self._db, self._clock, self._retention = db, clock, retention

    def claim(self, forge: Forge, delivery: str, repo: str, event: str) -> None:
        """Record the delivery as being handled; ConflictError (409) if it was seen already
        (a failed one is claimed again: the forge's redelivery)."""
        now = self._clock()
        with self._db.session() as session:
            session.execute(delete(DeliveryRecord).where(DeliveryRecord.expires_at < now))
        with self._db.session() as session:
            if self._insert(session, forge, delivery, repo, event):
                return
            retried = session.execute(
                update(DeliveryRecord)
                .where(
                    DeliveryRecord.forge == forge.value,
                    DeliveryRecord.delivery == delivery,
                    DeliveryRecord.repo == repo,
                    DeliveryRecord.status == DeliveryStatus.FAILED.value,
                )
                .values(status=DeliveryStatus.RECEIVED.value, reason=None, received_at=now)
            )
            if retried.rowcount != 1:  # type: ignore[attr-defined]
                raise ConflictError(f"delivery {delivery} was received already")

    def _insert(self, session: Session, forge: Forge, delivery: str, repo: str, event: str) -> bool:
        """Insert the record in a savepoint; False if (forge, delivery) exists."""
        now = self._clock()
        try:
            with session.begin_nested():
                session.add(
                    DeliveryRecord(
                        forge=forge.value,
                        delivery=delivery,
                        repo=repo,
                        event=event,
                        status=DeliveryStatus.RECEIVED.value,
                        received_at=now,
                        expires_at=now + self._retention,
                    )
                )
        except IntegrityError:
            return False
        return True

    def finish(
        self,
        forge: Forge,
        delivery: str,
        status: DeliveryStatus,
        *,
        reason: str | None = None,
        run_id: int | None = None,
    ) -> None:
        """Record how the delivery ended."""
        with self._db.session() as session:
            session.execute(
                update(DeliveryRecord)
                .where(DeliveryRecord.forge == forge.value, DeliveryRecord.delivery == delivery)
                .values(status=status.value, reason=reason and reason[:1024], run_id=run_id)
            )

    def status(self, forge: Forge, delivery: str) -> tuple[str, str | None, int | None] | None:
        """(status, reason, run id) of a delivery, None if unknown or expired."""
        with self._db.session() as session:
            row = session.scalar(
                select(DeliveryRecord).where(
                    DeliveryRecord.forge == forge.value, DeliveryRecord.delivery == delivery
                )
            )
            return None if row is None else (row.status, row.reason, row.run_id)
