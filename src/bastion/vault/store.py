"""The built-in encrypted secret store: one JSON file, envelope encryption.

    >>> vault = Vault.open(home / "vault.json", LocalKeyProvider.from_file(home / "kek"))
    >>> vault.set("DEPLOY_TOKEN", value, Scope.build(branches=["main"]))
    >>> vault.release(["DEPLOY_TOKEN"], context, on_release=audit)

Each secret has its own random 256-bit data key (DEK). The value is sealed with AES-256-GCM
under the DEK (96-bit random nonce); the DEK is wrapped by the key-encryption key through a
:class:`~bastion.vault.keys.KeyProvider`. Both seals bind, as associated data, the secret's
name, scope and version: moving a ciphertext to another name, widening its scope in the
file or replaying an older DEK is detected when the value is opened. Without the KEK the
file reveals names, scopes and dates only.

File format (``format_version`` 1; the index is described in :mod:`bastion.vault.vaultfile`)::

    {"format": "bastion-vault", "format_version": 1, "kek_id": "local:…",
     "index": {"wrapped_key": b64, "mac": b64},
     "secrets": {"NAME": {"scope": {…}, "version": 3, "updated": "2026-…Z",
                          "rotated": "2026-…Z", "max_age": 7776000,
                          "wrapped_dek": b64, "nonce": b64, "ciphertext": b64}}}

``updated`` is the last change of any kind, ``rotated`` the last change of the value and
``max_age`` (seconds, optional) its rotation schedule (:mod:`bastion.vault.schedule`).

Changes happen under an exclusive lock file and re-read the file first, so concurrent
``bastion secrets set`` commands do not lose each other's changes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hmac
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.errors import VaultError
from bastion.vault import vaultfile
from bastion.vault.keys import KEY_BYTES, NONCE_BYTES, KeyProvider
from bastion.vault.patterns import MaskingPatterns
from bastion.vault.scope import RequestContext, Scope
from bastion.vault.strength import check_secret_value
from bastion.vault.vaultfile import FORMAT_VERSION

__all__ = ["FORMAT_VERSION", "ReleaseCallback", "SecretInfo", "Vault"]

_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")

ReleaseCallback = Callable[[str, str, str], None]
"""Called as ``on_release(name, job, run)`` once per secret handed to a job."""


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be shown about a secret: never its value."""

    name: str
    scope: Scope
    version: int
    updated: str
    rotated: str | None = None
    max_age: int | None = None


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise VaultError(
            f"invalid secret name {name!r}",
            hint="use an environment-variable style name: A-Z, 0-9 and _, not starting "
            "with a digit, at most 128 characters",
        )


def _checked(path: Path, loaded: vaultfile.Loaded) -> vaultfile.Loaded:
    for name, entry in loaded.entries.items():
        _check_name(name)
        if not isinstance(entry, dict):
            raise VaultError(f"{path}: secret {name} is malformed")
    return loaded


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _aad(purpose: str, name: str, scope: Scope, version: int) -> bytes:
    bound = {"purpose": purpose, "name": name, "scope": scope.to_json(), "version": version}
    return json.dumps(bound, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise VaultError(f"{what} in the vault file is malformed")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VaultError(f"{what} in the vault file is not valid base64") from exc


class Vault:
    """A vault file opened with its key; made only through :meth:`open`."""

    def __init__(self, path: Path, keys: KeyProvider, loaded: vaultfile.Loaded) -> None:
        self._path = path
        self._keys = keys
        self._loaded = _checked(path, loaded)

    @classmethod
    def open(cls, path: Path, keys: KeyProvider) -> Vault:
        """Open (or start empty) the vault at ``path``; refuse a file sealed by another key
        or changed outside Bastion."""
        return cls(path, keys, vaultfile.load(path, keys))

    @property
    def path(self) -> Path:
        """Where the vault file lives."""
        return self._path

    @property
    def _entries(self) -> dict[str, dict[str, Any]]:
        return self._loaded.entries

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the vault's lock and re-read the file, so a change merges with others'."""
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self._path.with_name(self._path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._loaded = _checked(self._path, vaultfile.load(self._path, self._keys))
            yield
        finally:
            os.close(fd)

    def _write(self, keys: KeyProvider) -> None:
        vaultfile.save(self._path, keys, self._loaded)

    def set(
        self,
        name: str,
        value: str,
        scope: Scope,
        *,
        force: bool = False,
        max_age: int | None = None,
    ) -> SecretInfo:
        """Store (or replace) ``name``; refuses values unsafe to mask (see ``strength``).

        ``force`` stores a guessable value anyway, never one too short to mask. ``max_age``
        (seconds) sets the rotation schedule; None keeps the one the secret had.
        """
        _check_name(name)
        check_secret_value(name, value, force=force)
        if max_age is not None and not _positive_int(max_age):
            raise VaultError(f"the maximum age of {name} must be a positive number of seconds")
        with self._locked():
            previous = self._entries.get(name, {}).get("max_age")
            return self._seal(name, value, scope, max_age if max_age is not None else previous)

    def rotate(self, name: str, value: str, *, force: bool = False) -> SecretInfo:
        """Replace the value of an existing ``name``, keeping its scope and schedule.

        Refuses a missing secret and a value equal to the current one (that is no rotation).
        """
        check_secret_value(name, value, force=force)
        with self._locked():
            if name not in self._entries:
                raise VaultError(
                    f"no secret named {name!r}", hint=f"store it with: bastion secrets set {name}"
                )
            info = self._info(name)
            if hmac.compare_digest(self._open_value(info).encode(), value.encode()):
                raise VaultError(f"the new value of {name} is the current one; nothing changed")
            return self._seal(name, value, info.scope, info.max_age)

    def update_scope(self, name: str, change: Callable[[Scope], Scope]) -> SecretInfo:
        """Give ``name`` the scope ``change(current scope)``, keeping its value.

        Read, decision and write happen under the vault's lock, so concurrent updates (two
        projects widening one shared secret's repositories) never lose each other's change.
        Nothing is written when the scope stays the same.
        """
        with self._locked():
            if name not in self._entries:
                raise VaultError(f"no secret named {name!r}")
            info = self._info(name)
            scope = change(info.scope)
            if scope == info.scope:
                return info
            return self._seal(name, self._open_value(info), scope, info.max_age, info.rotated)

    def _seal(
        self,
        name: str,
        value: str,
        scope: Scope,
        max_age: int | None,
        rotated: str | None = None,
    ) -> SecretInfo:
        """Encrypt ``value`` as the next version of ``name`` and write the file (locked).

        ``rotated`` is kept when the value did not change; None means it changed now.
        """
        previous = self._entries.get(name)
        version = int(previous["version"]) + 1 if previous else 1
        dek = AESGCM.generate_key(bit_length=8 * KEY_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(dek).encrypt(
            nonce, value.encode("utf-8"), _aad("value", name, scope, version)
        )
        updated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        schedule = {} if max_age is None else {"max_age": max_age}
        self._entries[name] = {
            "scope": scope.to_json(),
            "version": version,
            "updated": updated,
            "rotated": rotated or updated,
            **schedule,
            "wrapped_dek": _b64(self._keys.wrap(dek, _aad("dek", name, scope, version))),
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
        }
        self._write(self._keys)
        return SecretInfo(name, scope, version, updated, rotated or updated, max_age)

    def remove(self, name: str) -> None:
        """Delete ``name``; raises :class:`VaultError` if there is no such secret."""
        with self._locked():
            if name not in self._entries:
                raise VaultError(f"no secret named {name!r}")
            del self._entries[name]
            self._write(self._keys)

    def list(self) -> list[SecretInfo]:
        """Every secret's name, scope, version and last change, sorted by name.

        Each entry is opened (and the value dropped) so a tampered file is reported here,
        not only when a job needs the secret.
        """
        infos = [self._info(name) for name in sorted(self._entries)]
        for info in infos:
            self._open_value(info)
        return infos

    def masking_patterns(self) -> MaskingPatterns:
        """Every current value compiled for masking (the file is re-read first, so values
        another process set are included); the values themselves are never returned."""
        with self._locked():
            infos = [self._info(name) for name in sorted(self._entries)]
            values = {info.name: self._open_value(info) for info in infos}
        return MaskingPatterns(values)

    def _info(self, name: str) -> SecretInfo:
        entry = self._entries[name]
        version, updated = entry.get("version"), entry.get("updated")
        rotated, max_age = entry.get("rotated", updated), entry.get("max_age")
        if not isinstance(version, int) or not isinstance(updated, str):
            raise VaultError(f"{self._path}: secret {name} is malformed")
        if not isinstance(rotated, str) or not (max_age is None or _positive_int(max_age)):
            raise VaultError(f"{self._path}: secret {name}'s schedule is malformed")
        return SecretInfo(
            name, Scope.from_json(entry.get("scope")), version, updated, rotated, max_age
        )

    def _open_dek(self, info: SecretInfo) -> bytes:
        entry = self._entries[info.name]
        wrapped = _unb64(entry.get("wrapped_dek"), f"secret {info.name}'s data key")
        try:
            return self._keys.unwrap(wrapped, _aad("dek", info.name, info.scope, info.version))
        except VaultError as exc:
            raise VaultError(f"secret {info.name}: {exc.message}") from exc

    def _open_value(self, info: SecretInfo) -> str:
        entry = self._entries[info.name]
        dek = self._open_dek(info)
        nonce = _unb64(entry.get("nonce"), f"secret {info.name}'s nonce")
        ciphertext = _unb64(entry.get("ciphertext"), f"secret {info.name}'s ciphertext")
        try:
            plain = AESGCM(dek).decrypt(
                nonce, ciphertext, _aad("value", info.name, info.scope, info.version)
            )
        except (InvalidTag, ValueError) as exc:
            raise VaultError(
                f"secret {info.name} does not decrypt: the vault file was changed",
                hint="restore the vault file from a backup and set the secret again",
            ) from exc
        return plain.decode("utf-8")

    def release(
        self,
        names: Iterable[str],
        context: RequestContext,
        on_release: ReleaseCallback | None = None,
    ) -> dict[str, str]:
        """The values of ``names`` for the job in ``context``, all or nothing.

        Every scope is checked before any value is opened; the first secret that is missing
        or out of scope raises :class:`VaultError` naming it and the failing dimension.
        ``on_release(name, job, run)`` is called for each value handed out.
        """
        wanted = list(dict.fromkeys(names))
        infos: list[SecretInfo] = []
        for name in wanted:
            if name not in self._entries:
                raise VaultError(
                    f"job {context.job} needs secret {name!r}, which is not in the vault",
                    hint=f"store it with: bastion secrets set {name}",
                )
            info = self._info(name)
            problem = info.scope.mismatch(context)
            if problem is not None:
                raise VaultError(
                    f"secret {name} is not released to job {context.job} (run {context.run}): "
                    f"{problem}",
                    hint="widen the secret's scope (bastion secrets set) or run the job "
                    "where the scope allows",
                )
            infos.append(info)
        values = {info.name: self._open_value(info) for info in infos}
        if on_release is not None:
            for name in values:
                on_release(name, context.job, context.run)
        return values

    def rotate_key(self, new_keys: KeyProvider) -> None:
        """Re-wrap every data key under ``new_keys`` and rewrite the file sealed by it.

        The caller must make the new key durable *before* calling this (see
        :func:`bastion.vault.rotation.rotate_file_key`).
        """
        with self._locked():
            for name in list(self._entries):
                info = self._info(name)
                self._open_value(info)  # refuse to re-seal a tampered entry
                dek = self._open_dek(info)
                aad = _aad("dek", info.name, info.scope, info.version)
                self._entries[name]["wrapped_dek"] = _b64(new_keys.wrap(dek, aad))
            self._write(new_keys)
            self._keys = new_keys
