"""The job-identity issuer's signing keys and rotation state, persisted between restarts.

One file, ``$BASTION_HOME/keys/oidc/keys.json``, mode 0600 in a 0700 directory (the same
``keys`` tree the sandbox never binds in): every key still published, the signing one first,
as PKCS#8 PEM with when it was made and when it was retired. It is rewritten atomically
after each rotation or pruning, so a restart publishes the same JWKS and a verifier's cached
set keeps working. A file that others may read, or that another user owns, is refused: such
a key no longer proves anything.

>>> issuer = open_identity_issuer(home, "https://ci.example")  # doctest: +SKIP
>>> issuer.jwks()["keys"][0]["alg"]  # doctest: +SKIP
'ES256'
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bastion.errors import VaultError
from bastion.trust import Trust
from bastion.vault.identity import (
    DEFAULT_ISSUING,
    MAX_LIFETIME,
    IdentityIssuer,
    SigningKey,
    kid_of,
    retire_and_add,
)
from bastion.vault.keys import write_key_file

__all__ = [
    "DEFAULT_ROTATION",
    "identity_keys_path",
    "load_signing_keys",
    "open_identity_issuer",
    "rotate_identity_keys",
    "save_signing_keys",
]

DEFAULT_ROTATION = 30 * 24 * 3600.0
_FORMAT = 1


def identity_keys_path(home: Path) -> Path:
    """Where the issuer's keys live under ``home``."""
    return home / "keys" / "oidc" / "keys.json"


def save_signing_keys(path: Path, keys: Sequence[SigningKey]) -> None:
    """Write ``keys`` (signing one first) atomically, mode 0600."""
    entries = [
        {
            "kid": key.kid,
            "created_at": key.created_at,
            "retired_at": key.retired_at,
            "overlap": key.overlap,
            "pem": key.private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
        }
        for key in keys
    ]
    data = json.dumps({"format": _FORMAT, "keys": entries}, indent=1).encode()
    write_key_file(path, data)


def _read_private(path: Path) -> bytes:
    """The file's bytes; VaultError if others may read or write it or another user owns it."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or info.st_uid != os.geteuid():
            raise VaultError(
                f"{path}: the identity signing keys are readable by others or owned by "
                "another user",
                hint=f"chmod 600 {path} (and check who else could have read it: if anyone "
                "could, delete it so new keys are made)",
            )
        return handle.read()


def _key_from(entry: Any, path: Path) -> SigningKey:
    try:
        private = serialization.load_pem_private_key(entry["pem"].encode(), password=None)
        created, retired = float(entry["created_at"]), entry["retired_at"]
        retired_at = None if retired is None else float(retired)
        overlap = entry.get("overlap")  # absent in files written before on-demand rotation
        overlap = None if overlap is None else float(overlap)
        kid = str(entry["kid"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise VaultError(f"{path}: an identity signing key is malformed") from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise VaultError(f"{path}: an identity signing key is not a P-256 key")
    if kid_of(private) != kid:
        raise VaultError(f"{path}: a key id does not match its key")
    return SigningKey(kid, private, created_at=created, retired_at=retired_at, overlap=overlap)


def load_signing_keys(path: Path) -> list[SigningKey] | None:
    """The persisted keys (signing one first), None if there is no file yet."""
    try:
        raw = _read_private(path)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symlink (O_NOFOLLOW), a directory, no permission
        raise VaultError(f"{path}: cannot read the identity signing keys: {exc}") from exc
    try:
        document = json.loads(raw)
        entries = document["keys"] if document.get("format") == _FORMAT else None
    except (ValueError, AttributeError, KeyError) as exc:
        raise VaultError(f"{path}: not an identity key file") from exc
    if not isinstance(entries, list) or not entries:
        raise VaultError(f"{path}: not an identity key file (unknown format or no key)")
    return [_key_from(entry, path) for entry in entries]


@contextmanager
def _key_file_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive lock beside ``path`` while its keys are read, changed and saved:
    ``bastion keys rotate oidc`` and a running server's own rotation or pruning never
    interleave (without it, the server could save its older keys over the rotation)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


class _KeyFileWatch:
    """Reloads the key file when another process rewrote it (an on-demand rotation), so a
    running server signs with the new key and publishes the old one for its overlap."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def saved(self, keys: Sequence[SigningKey]) -> None:
        """Persist ``keys`` (this process's own change: not reloaded), unless another
        process rewrote the file since this one last read it: that rotation wins, and
        :meth:`changed` hands it to the issuer at its next request."""
        with _key_file_lock(self.path):
            if self._stamp() != self._seen:
                return
            save_signing_keys(self.path, keys)
            self._seen = self._stamp()

    def changed(self) -> list[SigningKey] | None:
        """The file's keys if it changed since last seen, else None."""
        stamp = self._stamp()
        if stamp == self._seen:
            return None
        self._seen = stamp
        return load_signing_keys(self.path)


def rotate_identity_keys(
    home: Path, overlap: float | None = None, clock: Callable[[], float] = time.time
) -> tuple[SigningKey, SigningKey | None]:
    """Rotate the issuer's persisted keys now: a new signing key, the old one published for
    every token it signed to expire plus ``overlap`` s (default the issuer's, an hour). A
    running server picks the file up at its next token or JWKS request. The new key and the
    retired one (None when there were no keys yet)."""
    path = identity_keys_path(home)
    with _key_file_lock(path):
        keys = load_signing_keys(path) or []
        rotated = retire_and_add(keys, clock(), overlap)
        save_signing_keys(path, rotated)
    return rotated[0], keys[0] if keys else None


def open_identity_issuer(
    home: Path,
    issuer: str,
    *,
    issuing: frozenset[Trust] = DEFAULT_ISSUING,
    rotate_after: float = DEFAULT_ROTATION,
    clock: Callable[[], float] = time.time,
) -> IdentityIssuer:
    """The server's issuer over the keys under ``home`` (made and saved on first use),
    rotated now if its signing key is older than ``rotate_after``; every later rotation
    or pruning is saved."""
    path = identity_keys_path(home)
    keys = load_signing_keys(path) or []
    watch = _KeyFileWatch(path)
    result = IdentityIssuer(
        issuer,
        lifetime=MAX_LIFETIME,
        clock=clock,
        keys=keys,
        rotate_after=rotate_after,
        on_change=watch.saved,
        issuing=issuing,
        reload=watch.changed,
    )
    if not keys:
        watch.saved(result.keys)
    elif clock() - result.keys[0].created_at >= rotate_after:
        result.rotate()
    result.jwks()  # prunes (and saves) keys past their overlap window
    return result
