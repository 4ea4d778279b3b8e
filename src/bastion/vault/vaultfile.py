"""Reading and writing the vault file, with an authenticated index over all of it.

Each secret is sealed on its own (see :mod:`bastion.vault.store`); the index closes what
per-secret sealing leaves open: removing a secret, or editing a field no seal covers. An
HMAC-SHA256 over the canonical JSON of the whole table, under an index key wrapped by the
key-encryption key, is checked every time the file is read. (Replacing the whole file with
an older copy sealed by the same key stays possible; only state kept elsewhere, such as
the audit log's release events, reveals that.)

Writes are atomic: a temporary file (mode 0600), fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.atomic import replacing
from bastion.errors import VaultError
from bastion.vault.keys import KEY_BYTES, KeyProvider

__all__ = ["FORMAT_VERSION", "Loaded", "load", "save"]

FORMAT_VERSION = 1
_FORMAT = "bastion-vault"
_INDEX_AAD = b"bastion-vault index key v1"


@dataclass(slots=True)
class Loaded:
    """The secrets table and the (unwrapped) index key; both empty for a new vault."""

    entries: dict[str, dict[str, Any]]
    index_key: bytes | None


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _mac(index_key: bytes, kek_id: str, entries: dict[str, dict[str, Any]]) -> bytes:
    signed = {"format_version": FORMAT_VERSION, "kek_id": kek_id, "secrets": entries}
    return hmac.new(index_key, _canonical(signed), hashlib.sha256).digest()


def _parse(path: Path, text: str, keys: KeyProvider) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VaultError(f"{path}:{exc.lineno}: the vault file is not valid JSON") from exc
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise VaultError(f"{path} is not a Bastion vault file")
    if data.get("format_version") != FORMAT_VERSION:
        raise VaultError(
            f"{path} has vault format {data.get('format_version')!r}; this Bastion "
            f"reads format {FORMAT_VERSION}",
            hint="upgrade Bastion",
        )
    if data.get("kek_id") != keys.key_id:
        raise VaultError(
            f"{path} was sealed with key {data.get('kek_id')!r}, not with the key "
            f"given ({keys.key_id})",
            hint="use the vault's key file or BASTION_VAULT_KEK value",
        )
    if not isinstance(data.get("secrets"), dict):
        raise VaultError(f"{path}: the 'secrets' table is malformed")
    return data


def _index_key(path: Path, data: dict[str, Any], keys: KeyProvider) -> bytes:
    index = data.get("index")
    if not isinstance(index, dict):
        raise VaultError(f"{path}: the index is missing or malformed")
    try:
        wrapped = base64.b64decode(str(index.get("wrapped_key")), validate=True)
        mac = base64.b64decode(str(index.get("mac")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VaultError(f"{path}: the index is not valid base64") from exc
    try:
        key = keys.unwrap(wrapped, _INDEX_AAD)
    except VaultError as exc:
        raise VaultError(f"{path}: the index key {exc.message}") from exc
    if not hmac.compare_digest(mac, _mac(key, keys.key_id, data["secrets"])):
        raise VaultError(
            f"{path}: the vault file was changed outside Bastion (its index does not verify:"
            " a secret was added, removed or edited)",
            hint="restore the vault file from a backup",
        )
    return key


def load(path: Path, keys: KeyProvider) -> Loaded:
    """The verified contents of ``path`` (an empty vault if it does not exist)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return Loaded({}, None)
    except OSError as exc:
        raise VaultError(f"cannot read the vault {path}: {exc.strerror}") from exc
    data = _parse(path, text, keys)
    key = _index_key(path, data, keys)
    return Loaded(data["secrets"], key)


def save(path: Path, keys: KeyProvider, loaded: Loaded) -> None:
    """Write ``loaded`` sealed by ``keys`` (creating the index key on first write)."""
    if loaded.index_key is None:
        loaded.index_key = os.urandom(KEY_BYTES)
    entries = dict(sorted(loaded.entries.items()))
    document = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "kek_id": keys.key_id,
        "index": {
            "wrapped_key": base64.b64encode(keys.wrap(loaded.index_key, _INDEX_AAD)).decode(),
            "mac": base64.b64encode(_mac(loaded.index_key, keys.key_id, entries)).decode(),
        },
        "secrets": entries,
    }
    payload = json.dumps(document, indent=2).encode() + b"\n"
    with replacing(path) as out:
        out.write(payload)
