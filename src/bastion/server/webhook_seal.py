"""Webhook secrets sealed at rest: AES-256-GCM under a key kept outside the database.

>>> seal = WebhookSeal.from_file(webhook_key_path(home))  # doctest: +SKIP
>>> stored = seal.seal("a-long-random-secret-42", SealedField.SECRET, "app", Forge.GITHUB)
... # doctest: +SKIP
>>> seal.open(stored, SealedField.SECRET, "app", Forge.GITHUB)  # doctest: +SKIP
'a-long-random-secret-42'

HMAC verification needs the secret itself, so it cannot be hashed; it is encrypted instead,
with a random 96-bit nonce per seal, under ``$BASTION_HOME/keys/webhook-secrets`` (32 raw
bytes, mode 0600, beside the server's other keys and never in a backup of the database).
The associated data is the repository, the forge and the column, so a ciphertext copied to
another repository's row (or from the secret to the signing-key column) does not open.

Stored form: ``v1:<base64 of nonce + ciphertext + tag>``. Revision
``0014_webhook_secret_sealed`` marks the plain text it found as ``v0:<secret>``; the server
seals those at start (:func:`bastion.server.webhook_store.seal_plain_secrets`).
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.server.errors import ServerError
from bastion.server.webhook_signatures import Forge
from bastion.vault import write_key_file

__all__ = [
    "KEY_FILE_NAME",
    "PLAIN_PREFIX",
    "SEALED_PREFIX",
    "SealedField",
    "WebhookKeyError",
    "WebhookSeal",
    "WebhookSecretUnusableError",
    "create_key_file",
    "webhook_key_path",
]

KEY_FILE_NAME = "webhook-secrets"
KEY_BYTES = 32
NONCE_BYTES = 12
SEALED_PREFIX = "v1:"
PLAIN_PREFIX = "v0:"  # plain text found by revision 0014, sealed at the next start
_AAD_LABEL = b"bastion-webhook-secret\0v1\0"


class WebhookKeyError(ServerError):
    """The webhook secrets' key file is missing, unsafe or malformed: the server cannot start."""

    kind = "webhook-key"


class WebhookSecretUnusableError(ServerError):
    """A repository's stored webhook secret does not open: its deliveries are refused."""

    status = 503
    kind = "webhook-secret-unusable"


class SealedField(enum.StrEnum):
    """Which column a ciphertext belongs to (part of its associated data)."""

    SECRET = "secret"  # noqa: S105 - a column name, not a password
    SIGNING_KEY = "signing_key"


def webhook_key_path(home: Path) -> Path:
    """Where the webhook secrets' key of the state directory ``home`` lives."""
    return home / "keys" / KEY_FILE_NAME


def create_key_file(path: Path) -> None:
    """A new random key at ``path`` (0600 in a 0700 directory); one kept if another process
    made it meanwhile, so two servers starting at once agree on one key."""
    write_key_file(path, os.urandom(KEY_BYTES), exclusive=True)


def _associated_data(field: SealedField, repo: str, forge: Forge) -> bytes:
    # Repository names hold no NUL (bastion.server.names), so the joined form is unambiguous.
    return _AAD_LABEL + b"\0".join(p.encode() for p in (repo, forge.value, field.value))


def _unusable(repo: str, why: str, fix: str = "") -> WebhookSecretUnusableError:
    fix = fix or f"set it again (bastion webhooks set {repo})"
    return WebhookSecretUnusableError(
        f"the webhook secret of repository {repo} {why}: its deliveries are refused; {fix}"
    )


class WebhookSeal:
    """Seals and opens webhook secrets under one AES-256 key."""

    def __init__(self, key: bytes, *, origin: str) -> None:
        if len(key) != KEY_BYTES:
            raise WebhookKeyError(
                f"{origin}: the webhook secrets' key is {len(key)} bytes, not {KEY_BYTES}",
                hint=f"restore {origin} from a backup of the server's keys",
            )
        self._aead, self.origin = AESGCM(key), origin

    @classmethod
    def from_file(cls, path: Path) -> WebhookSeal:
        """The key in ``path``; WebhookKeyError for a missing file, a link, another owner's
        file or one that group or others may read or write (it no longer protects anything)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise WebhookKeyError(f"{path}: no webhook secrets' key") from exc
        except OSError as exc:  # a symbolic link (O_NOFOLLOW), no permission
            raise WebhookKeyError(f"{path}: cannot open the webhook key: {exc.strerror}") from exc
        try:
            _check_key_file(path, os.fstat(fd))
            key = os.read(fd, KEY_BYTES + 1)
        finally:
            os.close(fd)
        return cls(key, origin=str(path))

    def seal(self, plain: str, field: SealedField, repo: str, forge: Forge) -> str:
        """``plain`` encrypted for ``field`` of ``repo``'s ``forge`` webhook, in stored form."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode(), _associated_data(field, repo, forge))
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, field: SealedField, repo: str, forge: Forge) -> str:
        """The secret ``stored`` holds; WebhookSecretUnusableError (naming the repository,
        never the value) if it is not sealed, was changed, or belongs to another row or key."""
        if stored.startswith(PLAIN_PREFIX):
            raise _unusable(repo, "is still plain text", "restart bastion serve to seal it")
        if not stored.startswith(SEALED_PREFIX):
            raise _unusable(repo, "is in no form this server wrote")
        try:
            raw = base64.b64decode(stored.removeprefix(SEALED_PREFIX), validate=True)
            data = _associated_data(field, repo, forge)
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], data).decode()
        except (binascii.Error, ValueError, InvalidTag) as exc:  # UnicodeError is a ValueError
            raise _unusable(
                repo,
                f"does not open under {self.origin} (changed, copied from another "
                "repository, or sealed under another key)",
            ) from exc


def _check_key_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise WebhookKeyError(f"{path}: the webhook key is not a regular file")
    if info.st_uid != os.geteuid():
        raise WebhookKeyError(
            f"{path}: the webhook key belongs to uid {info.st_uid}, not to this user",
            hint="run bastion serve as the key's owner, or chown the file",
        )
    if info.st_mode & 0o077:
        raise WebhookKeyError(
            f"{path}: the webhook key is readable or writable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"chmod 600 {path}; if others may have read it, replace the key and set "
            "every webhook's secret again (new ones, at the forge too)",
        )
