"""Webhook settings per repository and the delivery record that is also the replay cache.

A delivery id is claimed before anything is fetched or started: a second claim of the same
(forge, id) is refused while its record lives (409), so a replayed delivery starts nothing.
A delivery that failed (the commit could not be fetched) may be claimed again: that is the
forge's redelivery (GitHub, GitLab and Gitea resend with the same id), and it must be able to
succeed. Records expire after ``retention``; expired ones are pruned on the next claim.
Tables created by revision ``0008_webhooks``.

The secret and GitLab signing key are stored sealed (:mod:`bastion.server.webhook_seal`):
the database holds only ciphertext bound to its row, the key lives under
``$BASTION_HOME/keys``. A row that does not open refuses that repository's deliveries
(logged, 503 naming the fix) and no other. Plain text left by earlier versions is sealed
when ``bastion serve`` starts (:func:`seal_plain_secrets`), not on first read: a repository
that gets no delivery would otherwise keep its secret in clear (and in every backup) for
good, and a read path that accepted plain text would trust any value written into the
table; after one start no plain text remains, and an unsealed value read later is refused.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Integer, String, UniqueConstraint, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bastion.home import bastion_home
from bastion.server.clock import Clock
from bastion.server.errors import BadRequestError, ConflictError, NotFoundError
from bastion.server.names import check_name
from bastion.server.webhook_seal import (
    PLAIN_PREFIX,
    SEALED_PREFIX,
    SealedField,
    WebhookKeyError,
    WebhookSeal,
    WebhookSecretUnusableError,
    create_key_file,
    webhook_key_path,
)
from bastion.server.webhook_signatures import Forge, WebhookSecret
from bastion.store import Base, Database, UTCDateTime

__all__ = [
    "DEFAULT_RETENTION",
    "Deliveries",
    "DeliveryRecord",
    "DeliveryStatus",
    "SealReport",
    "WebhookConfig",
    "WebhookRecord",
    "Webhooks",
    "open_webhook_seal",
    "seal_plain_secrets",
]

DEFAULT_RETENTION = timedelta(days=30)
STORED_WIDTH = 512  # "v1:" + base64 of nonce, a 256-character secret and tag: 383
logger = logging.getLogger("bastion.server")


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
    # Sealed (bastion.server.webhook_seal), widened by revision 0014_webhook_secret_sealed.
    secret: Mapped[str] = mapped_column(String(STORED_WIDTH))
    signing_key: Mapped[str | None] = mapped_column(String(STORED_WIDTH), nullable=True)
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
    """Webhook settings per registered repository, secrets sealed under ``seal`` (default:
    the key under ``$BASTION_HOME``, read when first needed: :func:`open_webhook_seal`)."""

    def __init__(self, db: Database, seal: WebhookSeal | None = None) -> None:
        self._db, self._given = db, seal

    def _seal(self) -> WebhookSeal:
        if self._given is None:
            try:
                self._given = open_webhook_seal(self._db, bastion_home())
            except WebhookKeyError as exc:
                # The log names the file; a forge's caller learns no path of the server.
                logger.error("no webhook secret can be sealed or opened: %s", exc.diagnostics())
                raise WebhookSecretUnusableError(
                    "the server's webhook key is missing or unusable (the server log says "
                    "why): no webhook secret can be set or opened"
                ) from exc
        return self._given

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
        if signing_key is not None and len(signing_key) > 256:
            raise BadRequestError("a signing key has at most 256 characters")
        url = _check_clone_url(clone_url)
        seal = self._seal()
        sealed = seal.seal(secret, SealedField.SECRET, repo, forge)
        key = None
        if signing_key is not None:
            key = seal.seal(signing_key, SealedField.SIGNING_KEY, repo, forge)
        with self._db.session() as session:
            row = session.scalar(select(WebhookRecord).where(WebhookRecord.repo == repo))
            if row is None:
                row = WebhookRecord(repo=repo)
                session.add(row)
            row.forge, row.secret, row.signing_key, row.clone_url = forge.value, sealed, key, url

    def get(self, repo: str, forge: Forge) -> WebhookConfig:
        """The webhook of ``repo`` for ``forge``; NotFoundError (404) if there is none,
        WebhookSecretUnusableError (503, logged) if its secret does not open."""
        with self._db.session() as session:
            row = session.scalar(select(WebhookRecord).where(WebhookRecord.repo == repo))
            if row is None or row.forge != forge.value:
                raise NotFoundError(f"no {forge.value} webhook for repository {repo}")
            return WebhookConfig(row.repo, forge, self._open(row), row.clone_url)

    def current_secret(self, repo: str) -> WebhookSecret | None:
        """``repo``'s secret and signing key as set, None if it has no webhook;
        WebhookSecretUnusableError if they do not open (for telling a rotation apart)."""
        with self._db.session() as session:
            row = session.scalar(select(WebhookRecord).where(WebhookRecord.repo == repo))
            return None if row is None else self._open(row)

    def _open(self, row: WebhookRecord) -> WebhookSecret:
        forge, seal = Forge(row.forge), self._seal()
        try:
            secret = seal.open(row.secret, SealedField.SECRET, row.repo, forge)
            key = row.signing_key
            if key is not None:
                key = seal.open(key, SealedField.SIGNING_KEY, row.repo, forge)
        except WebhookSecretUnusableError as exc:
            logger.warning("webhook of %s refused: %s", row.repo, exc.message)
            raise
        return WebhookSecret(secret, key)


@dataclass(frozen=True)
class SealReport:
    """What :func:`seal_plain_secrets` did: repositories whose plain-text secret it sealed,
    and those whose secret does not open (their deliveries are refused)."""

    sealed: list[str]
    unusable: list[str]


def _sealed_rows(db: Database) -> int:
    with db.session() as session:
        sealed = or_(
            WebhookRecord.secret.startswith(SEALED_PREFIX),
            WebhookRecord.signing_key.startswith(SEALED_PREFIX),
        )
        return session.scalar(select(func.count()).where(sealed)) or 0


def open_webhook_seal(db: Database, home: Path) -> WebhookSeal:
    """The key under ``home``, made on first use while no secret is sealed yet.

    With sealed secrets and no key file, WebhookKeyError naming the file and the fix: a new
    key would silently orphan every secret.
    """
    path = webhook_key_path(home)
    if not path.exists() and not path.is_symlink():
        count = _sealed_rows(db)
        if count:
            raise WebhookKeyError(
                f"{path}: no webhook secrets' key, but {count} webhook(s) in the database "
                "are sealed under one",
                hint=f"restore {path} from a backup of {home}/keys; if it is lost, create a "
                f"new one (umask 077; head -c 32 /dev/urandom > {path}) and set every "
                "webhook's secret again",
            )
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_key_file(path)
    return WebhookSeal.from_file(path)


def seal_plain_secrets(db: Database, home: Path) -> SealReport:
    """At server start: seal every secret still held as plain text (marked by revision
    0014), and name the repositories whose secret does not open; WebhookKeyError if the
    key is missing (with sealed secrets) or unsafe."""
    seal = open_webhook_seal(db, home)
    sealed: list[str] = []
    unusable: list[str] = []
    with db.session() as session:
        for row in session.scalars(select(WebhookRecord).order_by(WebhookRecord.repo)):
            if _seal_plain_row(seal, row):
                sealed.append(row.repo)
    store = Webhooks(db, seal)
    for repo in _repos(db):
        try:
            store.current_secret(repo)
        except WebhookSecretUnusableError:
            unusable.append(repo)
    return SealReport(sealed, unusable)


def _seal_plain_row(seal: WebhookSeal, row: WebhookRecord) -> bool:
    """Seal the row's plain-text (``v0:``) values in place; True if there were any."""
    forge = Forge(row.forge)
    changed = False
    if row.secret.startswith(PLAIN_PREFIX):
        plain = row.secret.removeprefix(PLAIN_PREFIX)
        row.secret, changed = seal.seal(plain, SealedField.SECRET, row.repo, forge), True
    if row.signing_key is not None and row.signing_key.startswith(PLAIN_PREFIX):
        plain = row.signing_key.removeprefix(PLAIN_PREFIX)
        row.signing_key = seal.seal(plain, SealedField.SIGNING_KEY, row.repo, forge)
        changed = True
    return changed


def _repos(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(WebhookRecord.repo).order_by(WebhookRecord.repo)))


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
