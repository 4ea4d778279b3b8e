"""Key-encryption keys: file permissions, environment form, wrapping."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from bastion.errors import VaultError
from bastion.vault import KEK_ENV, LocalKeyProvider, default_key_provider
from bastion.vault.keys import write_key_file


def test_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "vault" / "kek"
    first = LocalKeyProvider.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = LocalKeyProvider.from_file(path)
    assert first.key_id == again.key_id
    assert first.key_id.startswith("local:")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "kek"
    LocalKeyProvider.from_file(path)
    path.chmod(mode)
    with pytest.raises(VaultError, match="readable or writable by group or others") as info:
        LocalKeyProvider.from_file(path)
    assert info.value.hint is not None
    assert "chmod 600" in info.value.hint


def test_missing_symlinked_or_short_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="no vault key"):
        LocalKeyProvider.from_file(tmp_path / "absent", create=False)
    real = tmp_path / "real"
    LocalKeyProvider.from_file(real)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(VaultError, match="cannot open"):
        LocalKeyProvider.from_file(tmp_path / "link")
    short = tmp_path / "short"
    short.write_bytes(b"0123")
    short.chmod(0o600)
    with pytest.raises(VaultError, match="is 4 bytes, not 32"):
        LocalKeyProvider.from_file(short)
    (tmp_path / "dir").mkdir(mode=0o700)
    with pytest.raises(VaultError, match="not a regular file"):
        LocalKeyProvider.from_file(tmp_path / "dir")


def test_environment_key_wins_over_the_file(tmp_path: Path) -> None:
    kek = os.urandom(32)
    env = {KEK_ENV: base64.b64encode(kek).decode()}
    provider = default_key_provider(tmp_path / "kek", env)
    assert provider.origin == f"${KEK_ENV}"
    assert not (tmp_path / "kek").exists()
    assert provider.key_id == LocalKeyProvider(kek, origin="x").key_id
    from_file = default_key_provider(tmp_path / "kek", {})
    assert (tmp_path / "kek").exists()
    assert from_file.key_id != provider.key_id


def test_bad_environment_keys(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="not valid base64"):
        default_key_provider(tmp_path / "kek", {KEK_ENV: "not base64!"})
    with pytest.raises(VaultError, match="is 3 bytes"):
        default_key_provider(tmp_path / "kek", {KEK_ENV: base64.b64encode(b"abc").decode()})


def test_wrapping_binds_the_associated_data() -> None:
    provider = LocalKeyProvider.generate()
    wrapped = provider.wrap(b"k" * 32, b"name=A")
    assert provider.unwrap(wrapped, b"name=A") == b"k" * 32
    with pytest.raises(VaultError, match="does not decrypt"):
        provider.unwrap(wrapped, b"name=B")
    with pytest.raises(VaultError, match="does not decrypt"):
        LocalKeyProvider.generate().unwrap(wrapped, b"name=A")


def test_first_use_by_two_processes_agrees_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    write_key_file(path, b"a" * 32, exclusive=True)
    write_key_file(path, b"b" * 32, exclusive=True)  # lost the race: keeps the first
    assert path.read_bytes() == b"a" * 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kek"]
    write_key_file(path, b"c" * 32)
    assert path.read_bytes() == b"c" * 32
