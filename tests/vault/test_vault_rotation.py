"""The default vault under BASTION_HOME and crash-safe key rotation."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from bastion.errors import VaultError
from bastion.home import bastion_home
from bastion.vault import (
    KEK_ENV,
    NEW_KEK_ENV,
    LocalKeyProvider,
    Scope,
    Vault,
    VaultPaths,
    open_default_vault,
    rotate_default_key,
)
from bastion.vault.keys import write_key_file

from .vault_support import VALUE, context


def test_home_defaults() -> None:
    assert bastion_home({"BASTION_HOME": "/srv/bastion"}) == Path("/srv/bastion")
    assert bastion_home({}).parts[-3:] == (".local", "share", "bastion")


def test_rotating_the_key_file(tmp_path: Path) -> None:
    open_default_vault(tmp_path, {}).set("DEPLOY_TOKEN", VALUE, Scope.build())
    paths = VaultPaths.under(tmp_path)
    old_key = paths.key.read_bytes()
    new_id = rotate_default_key(tmp_path, {})
    assert paths.key.read_bytes() != old_key
    assert not paths.next_key.exists()
    vault = open_default_vault(tmp_path, {})
    assert vault.release(["DEPLOY_TOKEN"], context()) == {"DEPLOY_TOKEN": VALUE}
    assert new_id == LocalKeyProvider.from_file(paths.key).key_id


def test_a_rotation_stopped_after_rewriting_is_finished(tmp_path: Path) -> None:
    vault = open_default_vault(tmp_path, {})
    vault.set("DEPLOY_TOKEN", VALUE, Scope.build())
    paths = VaultPaths.under(tmp_path)
    kek = os.urandom(32)
    write_key_file(paths.next_key, kek)
    vault.rotate_key(LocalKeyProvider(kek, origin="test"))  # then "crash" before the rename
    reopened = open_default_vault(tmp_path, {})
    assert reopened.release(["DEPLOY_TOKEN"], context()) == {"DEPLOY_TOKEN": VALUE}
    assert paths.key.read_bytes() == kek
    assert not paths.next_key.exists()


def test_a_rotation_stopped_before_rewriting_is_dropped(tmp_path: Path) -> None:
    open_default_vault(tmp_path, {}).set("DEPLOY_TOKEN", VALUE, Scope.build())
    paths = VaultPaths.under(tmp_path)
    old_key = paths.key.read_bytes()
    write_key_file(paths.next_key, os.urandom(32))
    reopened = open_default_vault(tmp_path, {})
    assert reopened.release(["DEPLOY_TOKEN"], context()) == {"DEPLOY_TOKEN": VALUE}
    assert paths.key.read_bytes() == old_key
    assert not paths.next_key.exists()


def test_rotating_an_environment_key_needs_the_new_one(tmp_path: Path) -> None:
    old = base64.b64encode(os.urandom(32)).decode()
    new = base64.b64encode(os.urandom(32)).decode()
    open_default_vault(tmp_path, {KEK_ENV: old}).set("DEPLOY_TOKEN", VALUE, Scope.build())
    with pytest.raises(VaultError, match="the new key must be given too") as info:
        rotate_default_key(tmp_path, {KEK_ENV: old})
    assert info.value.hint is not None
    assert NEW_KEK_ENV in info.value.hint
    rotate_default_key(tmp_path, {KEK_ENV: old, NEW_KEK_ENV: new})
    with pytest.raises(VaultError, match="was sealed with key"):
        open_default_vault(tmp_path, {KEK_ENV: old})
    vault = open_default_vault(tmp_path, {KEK_ENV: new})
    assert vault.release(["DEPLOY_TOKEN"], context()) == {"DEPLOY_TOKEN": VALUE}
    assert not VaultPaths.under(tmp_path).key.exists()


def test_vault_file_unreadable(tmp_path: Path) -> None:
    (tmp_path / "vault.json").mkdir()
    with pytest.raises(VaultError, match="cannot read the vault"):
        Vault.open(tmp_path / "vault.json", LocalKeyProvider.generate())
