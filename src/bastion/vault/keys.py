"""Key-encryption keys (KEK): the one key that unlocks every secret's data key.

A :class:`KeyProvider` wraps and unwraps 32-byte data-encryption keys (DEK). The built-in
providers keep a local AES-256 KEK, read from a file only its owner can read
(:meth:`LocalKeyProvider.from_file`) or from the ``BASTION_VAULT_KEK`` environment variable
(base64 of 32 bytes). A KMS or HashiCorp Vault Transit provider implements the same three
members; the vault never sees the KEK itself.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.atomic import fsync_directory
from bastion.errors import VaultError

__all__ = [
    "KEK_ENV",
    "KEY_BYTES",
    "KeyProvider",
    "LocalKeyProvider",
    "default_key_provider",
    "write_key_file",
]

KEY_BYTES = 32
NONCE_BYTES = 12
KEK_ENV = "BASTION_VAULT_KEK"


class KeyProvider(Protocol):
    """Wraps data keys under a key-encryption key it never reveals."""

    @property
    def key_id(self) -> str:
        """A stable, non-secret identifier of the KEK (recorded in the vault file)."""
        ...

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        """Encrypt ``dek`` bound to ``aad``."""
        ...

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Decrypt a wrapped DEK; raise :class:`VaultError` if it or ``aad`` was changed."""
        ...


class LocalKeyProvider:
    """A KEK held in this process: AES-256-GCM key wrapping with a random 96-bit nonce."""

    def __init__(self, kek: bytes, *, origin: str) -> None:
        if len(kek) != KEY_BYTES:
            raise VaultError(
                f"the vault key from {origin} is {len(kek)} bytes, not {KEY_BYTES}",
                hint="generate one with: python -c 'import os,base64;"
                "print(base64.b64encode(os.urandom(32)).decode())'",
            )
        self._aead = AESGCM(kek)
        self._key_id = "local:" + hashlib.sha256(b"bastion-kek-id\0" + kek).hexdigest()[:16]
        self.origin = origin

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, dek, aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise VaultError(
                "a wrapped data key does not decrypt under the vault key: "
                "the vault file was changed or belongs to another key"
            ) from exc

    @classmethod
    def generate(cls) -> LocalKeyProvider:
        """A provider with a fresh random KEK (not stored anywhere; see ``write_key_file``)."""
        return cls(os.urandom(KEY_BYTES), origin="a new random key")

    @classmethod
    def from_env(cls, value: str, *, variable: str = KEK_ENV) -> LocalKeyProvider:
        """The KEK from base64 text (as found in an environment variable)."""
        try:
            kek = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VaultError(
                f"{variable} is not valid base64",
                hint=f"set {variable} to the base64 encoding of 32 random bytes",
            ) from exc
        return cls(kek, origin=f"${variable}")

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> LocalKeyProvider:
        """The KEK stored raw in ``path``, created (mode 0600) on first use if allowed.

        Refuses a file that its group or others may read or write, or that another user
        owns: such a key no longer protects anything.
        """
        if create and not path.exists():
            # Exclusive: of two processes starting at once, one key wins and both use it.
            write_key_file(path, os.urandom(KEY_BYTES), exclusive=True)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError as exc:
            raise VaultError(
                f"no vault key at {path}", hint=f"restore the key file or set {KEK_ENV}"
            ) from exc
        except OSError as exc:
            raise VaultError(f"cannot open the vault key {path}: {exc.strerror}") from exc
        try:
            _check_key_file(path, os.fstat(fd))
            kek = os.read(fd, KEY_BYTES + 1)
        finally:
            os.close(fd)
        return cls(kek, origin=str(path))


def _check_key_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise VaultError(f"the vault key {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise VaultError(
            f"the vault key {path} belongs to uid {info.st_uid}, not to this user "
            f"(uid {os.geteuid()})",
            hint="run Bastion as the key's owner, or chown the file",
        )
    if info.st_mode & 0o077:
        raise VaultError(
            f"the vault key {path} is readable or writable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); refusing to use it",
            hint=f"chmod 600 {path}, and rotate the key (bastion secrets rotate-key) "
            "if others may have read it",
        )


def write_key_file(path: Path, kek: bytes, *, exclusive: bool = False) -> None:
    """Write ``kek`` to ``path`` atomically with mode 0600 (directory made 0700).

    ``exclusive`` keeps an existing file (written meanwhile by another process) instead of
    replacing it.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(kek)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
            tmp.unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def default_key_provider(key_path: Path, environ: Mapping[str, str]) -> LocalKeyProvider:
    """``$BASTION_VAULT_KEK`` if set (non-empty), else the key file (created on first use)."""
    value = environ.get(KEK_ENV, "")
    if value:
        return LocalKeyProvider.from_env(value)
    return LocalKeyProvider.from_file(key_path)
