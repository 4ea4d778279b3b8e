"""Opening the default vault and rotating its key without a window for loss.

The default vault lives at ``BASTION_HOME/vault/vault.json`` and its key at
``BASTION_HOME/vault/kek`` (or in ``$BASTION_VAULT_KEK``).

Rotating a key file is three durable steps: the new key is written to ``kek.next``, the
vault is rewritten sealed by it, then ``kek.next`` replaces ``kek``. If Bastion stops in
between, :func:`open_default_vault` finishes the job: it keeps whichever key the vault file
names, so no crash leaves a vault without its key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import VaultError
from bastion.vault.keys import KEK_ENV, LocalKeyProvider, default_key_provider, write_key_file
from bastion.vault.store import Vault

__all__ = [
    "NEW_KEK_ENV",
    "VaultPaths",
    "open_default_vault",
    "rotate_default_key",
]

NEW_KEK_ENV = "BASTION_VAULT_NEW_KEK"


@dataclass(frozen=True, slots=True)
class VaultPaths:
    """Where the default vault and its key file are."""

    vault: Path
    key: Path

    @property
    def next_key(self) -> Path:
        """The new key during a rotation."""
        return self.key.with_name(self.key.name + ".next")

    @classmethod
    def under(cls, home: Path) -> VaultPaths:
        """The standard layout below a Bastion home directory."""
        return cls(vault=home / "vault" / "vault.json", key=home / "vault" / "kek")


def _finish_interrupted_rotation(paths: VaultPaths) -> None:
    if not paths.next_key.exists():
        return
    pending = LocalKeyProvider.from_file(paths.next_key, create=False)
    try:
        Vault.open(paths.vault, pending)
    except VaultError:
        # The vault was never rewritten: the rotation stopped before its second step.
        paths.next_key.unlink()
        return
    os.replace(paths.next_key, paths.key)


def open_default_vault(home: Path, environ: Mapping[str, str]) -> Vault:
    """The vault under ``home`` with its key from ``environ`` or the key file (created on
    first use)."""
    paths = VaultPaths.under(home)
    if not environ.get(KEK_ENV):
        _finish_interrupted_rotation(paths)
    return Vault.open(paths.vault, default_key_provider(paths.key, environ))


def rotate_default_key(home: Path, environ: Mapping[str, str]) -> str:
    """Re-seal the default vault under a new key; returns the new key's id.

    With a key file, a random key replaces it. With ``$BASTION_VAULT_KEK`` the new key must
    be given in ``$BASTION_VAULT_NEW_KEK``; afterwards the operator moves it into
    ``$BASTION_VAULT_KEK`` (Bastion cannot change its caller's environment).
    """
    paths = VaultPaths.under(home)
    vault = open_default_vault(home, environ)
    if environ.get(KEK_ENV):
        new_value = environ.get(NEW_KEK_ENV, "")
        if not new_value:
            raise VaultError(
                f"the vault key comes from ${KEK_ENV}; the new key must be given too",
                hint=f"set {NEW_KEK_ENV} to base64 of 32 new random bytes, rotate, then "
                f"put that value in {KEK_ENV}",
            )
        new_keys = LocalKeyProvider.from_env(new_value, variable=NEW_KEK_ENV)
        vault.rotate_key(new_keys)
        return new_keys.key_id
    kek = os.urandom(32)
    write_key_file(paths.next_key, kek)
    new_keys = LocalKeyProvider(kek, origin=str(paths.key))
    vault.rotate_key(new_keys)
    os.replace(paths.next_key, paths.key)
    return new_keys.key_id
