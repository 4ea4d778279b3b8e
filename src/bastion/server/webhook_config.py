"""A repository's webhook as its maintainers set, see and remove it (issue 14).

>>> hooks = WebhookSettings(db)  # doctest: +SKIP
>>> hooks.set("app", Forge.GITHUB, "a-long-random-secret-42", "https://forge.example/app.git")
... # doctest: +SKIP

The intake (:mod:`bastion.server.webhook_intake`) verifies deliveries with what is stored
here, so the secret is checked for strength before it is kept, and never leaves again: a
:class:`WebhookView` has no field for it, and a clone URL's user information (a token in
``https://user:token@host/``) is masked wherever it is shown or audited. A clone URL set by
someone other than an admin must not name a host the server must not fetch from (loopback,
link-local, cloud metadata...: :mod:`bastion.server.clone_hosts`), nor one that does not
resolve and so cannot be checked.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from bastion.server.clock import Clock
from bastion.server.clone_hosts import CloneHostError, check_clone_host
from bastion.server.errors import BadRequestError, NotFoundError
from bastion.server.webhook_seal import WebhookSecretUnusableError
from bastion.server.webhook_signatures import Forge
from bastion.server.webhook_store import WebhookRecord, Webhooks
from bastion.store import Database

__all__ = [
    "MIN_DISTINCT",
    "MIN_SECRET",
    "SECRET_RULE",
    "WebhookSettings",
    "WebhookView",
    "check_host",
    "check_secret",
    "check_signing_key",
    "masked_url",
    "reads_server_disk",
]

MIN_SECRET = 20
MIN_DISTINCT = 10
MAX_SECRET = 256
SECRET_RULE = (
    f"a webhook secret has {MIN_SECRET} to {MAX_SECRET} printable ASCII characters, "
    f"no spaces, at least {MIN_DISTINCT} of them different "
    "(bastion webhooks set --generate makes one)"
)
_MIN_KEY_BYTES = 24  # Standard Webhooks keys are 24 to 64 random bytes


@dataclass(frozen=True)
class WebhookView:
    """What may be shown of a repository's webhook: never its secret or signing key."""

    repo: str
    forge: Forge
    clone_url: str  # user information masked
    secret_set: bool
    signed: bool  # GitLab: signed webhooks are required as well
    created_at: datetime | None  # None: made before these were kept
    rotated_at: datetime | None  # the secret (or signing key) last replaced


def check_secret(secret: str) -> str:
    """``secret`` if it follows :data:`SECRET_RULE`; BadRequestError naming the rule (never
    the secret) otherwise."""
    printable = all(33 <= ord(c) <= 126 for c in secret)
    if not (MIN_SECRET <= len(secret) <= MAX_SECRET and printable):
        raise BadRequestError(f"weak webhook secret: {SECRET_RULE}")
    if len(set(secret)) < MIN_DISTINCT:
        raise BadRequestError(f"weak webhook secret: {SECRET_RULE}")
    return secret


def check_signing_key(forge: Forge, key: str | None) -> str | None:
    """GitLab's signing token (``whsec_`` then base64 of at least 24 bytes), or None;
    BadRequestError for a malformed one or one given for another forge."""
    if key is None:
        return None
    if forge is not Forge.GITLAB:
        raise BadRequestError(f"a signing key is GitLab's; {forge.value} webhooks have none")
    try:
        raw = base64.b64decode(key.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raw = b""
    if len(key) > MAX_SECRET or len(raw) < _MIN_KEY_BYTES:
        raise BadRequestError(
            "the signing key is GitLab's signing token: whsec_ then base64 of at least "
            f"{_MIN_KEY_BYTES} bytes (copy it from the webhook's page in GitLab)"
        )
    return key


def reads_server_disk(clone_url: str) -> bool:
    """True for a ``file://`` URL: the server (often root) would fetch from its own disk,
    which only those who may register repositories by path may point it at."""
    return clone_url.lower().startswith("file:")


def check_host(clone_url: str, *, any_host: bool = False) -> str:
    """``clone_url`` unless its host is missing or starts with ``-`` (read as an option by
    ssh: ``ssh://-oProxyCommand=...``; git refuses those too, this says why first) or,
    unless ``any_host`` (an admin sets it), is one the server must not fetch from or cannot
    check (:func:`bastion.server.clone_hosts.check_clone_host`)."""
    if reads_server_disk(clone_url):
        return clone_url
    host = urlsplit(clone_url).netloc.rsplit("@", 1)[-1]
    if not host or host.startswith("-"):
        raise BadRequestError("the clone URL names no host, or one starting with '-'")
    if not any_host:
        try:
            check_clone_host(clone_url)
        except CloneHostError as exc:
            raise BadRequestError(
                f"{exc.message}: only an admin may set it (ask an admin; a git server on "
                "this machine is fetched through file:// or a private address)"
            ) from exc
    return clone_url


def masked_url(clone_url: str) -> str:
    """``clone_url`` with its user information (a name, a token) replaced by ``***``."""
    parts = urlsplit(clone_url)
    if "@" not in parts.netloc:
        return clone_url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"***@{host}").geturl()


def _view(row: WebhookRecord) -> WebhookView:
    return WebhookView(
        row.repo,
        Forge(row.forge),
        masked_url(row.clone_url),
        bool(row.secret),
        bool(row.signing_key),
        row.created_at,
        row.rotated_at,
    )


class WebhookSettings:
    """Set, show and remove webhooks over one database (the intake reads the same rows)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock
        self._store = Webhooks(db)

    def set(
        self,
        repo: str,
        forge: Forge,
        secret: str,
        clone_url: str,
        *,
        signing_key: str | None = None,
        any_host: bool = False,
    ) -> WebhookView:
        """Set (or replace) ``repo``'s webhook; BadRequestError for a weak secret, a bad
        signing key or a clone URL the fetcher would refuse. ``any_host``: the caller is an
        admin, who may name any host (see :func:`check_host`)."""
        key = check_signing_key(forge, signing_key)
        url = check_host(clone_url, any_host=any_host)
        before = self._keys(repo)
        self._store.configure(repo, forge, check_secret(secret), url, signing_key=key)
        self._stamp(repo, rotated=before is not None and before != (secret, key))
        return self.view(repo)

    def _keys(self, repo: str) -> tuple[str, str | None] | None:
        """``repo``'s secret and signing key as set (opened: the sealed form differs on
        every seal), None if it has none; one that no longer opens counts as replaced."""
        try:
            current = self._store.current_secret(repo)
        except WebhookSecretUnusableError:
            return ("", None)
        return None if current is None else (current.secret, current.signing_key)

    def _stamp(self, repo: str, *, rotated: bool) -> None:
        """Record when the webhook was first set and, if ``rotated``, its secret replaced."""
        now = self._clock()
        with self._db.session() as session:
            row = session.scalar(select(WebhookRecord).where(WebhookRecord.repo == repo))
            if row is None:
                return  # removed meanwhile: nothing to stamp
            if row.created_at is None:
                row.created_at = now
            if rotated:
                row.rotated_at = now

    def find(self, repo: str) -> WebhookView | None:
        """``repo``'s webhook, None if it has none."""
        with self._db.session() as session:
            row = session.scalar(select(WebhookRecord).where(WebhookRecord.repo == repo))
            return None if row is None else _view(row)

    def view(self, repo: str) -> WebhookView:
        """``repo``'s webhook; NotFoundError if it has none."""
        found = self.find(repo)
        if found is None:
            raise NotFoundError(f"repository {repo} has no webhook")
        return found

    def remove(self, repo: str) -> WebhookView:
        """Remove ``repo``'s webhook (its deliveries are refused from now on) and return
        what it was; NotFoundError if it has none."""
        removed = self.view(repo)
        with self._db.session() as session:
            session.execute(delete(WebhookRecord).where(WebhookRecord.repo == repo))
        return removed
