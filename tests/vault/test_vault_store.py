"""The encrypted vault file: round trips, release, tamper detection, useless without key."""

from __future__ import annotations

import base64
import json
import stat
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.errors import VaultError
from bastion.trust import Trust
from bastion.vault import LocalKeyProvider, Scope, Vault, vaultfile

from .vault_support import OTHER_VALUE, VALUE, context


@pytest.fixture
def keys(tmp_path: Path) -> LocalKeyProvider:
    return LocalKeyProvider.from_file(tmp_path / "kek")


@pytest.fixture
def vault(tmp_path: Path, keys: LocalKeyProvider) -> Vault:
    return Vault.open(tmp_path / "vault.json", keys)


def _document(vault: Vault) -> dict[str, object]:
    loaded = json.loads(vault.path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _entry(vault: Vault, name: str) -> dict[str, object]:
    secrets = _document(vault)["secrets"]
    assert isinstance(secrets, dict)
    entry = secrets[name]
    assert isinstance(entry, dict)
    return entry


def _rewrite(vault: Vault, name: str, field: str, value: object) -> None:
    document = _document(vault)
    secrets = document["secrets"]
    assert isinstance(secrets, dict)
    secrets[name][field] = value
    vault.path.write_text(json.dumps(document))


def _unchecked(vault: Vault, keys: LocalKeyProvider) -> Vault:
    """The vault with its index check skipped, to test each secret's own seal."""
    secrets = _document(vault)["secrets"]
    assert isinstance(secrets, dict)
    return Vault(vault.path, keys, vaultfile.Loaded(secrets, None))


def _index_refuses(vault: Vault, keys: LocalKeyProvider) -> None:
    with pytest.raises(VaultError, match="index does not verify"):
        Vault.open(vault.path, keys)


def test_set_list_release_round_trip(vault: Vault, keys: LocalKeyProvider) -> None:
    info = vault.set("DEPLOY_TOKEN", VALUE, Scope.build(branches=["main"]))
    assert info.version == 1
    assert vault.set("DEPLOY_TOKEN", OTHER_VALUE, Scope.build()).version == 2
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600
    text = vault.path.read_text()
    assert VALUE not in text
    assert OTHER_VALUE not in text
    reopened = Vault.open(vault.path, keys)
    [listed] = reopened.list()
    assert (listed.name, listed.version) == ("DEPLOY_TOKEN", 2)
    released: list[tuple[str, str, str]] = []
    values = reopened.release(
        ["DEPLOY_TOKEN"], context(), on_release=lambda *event: released.append(event)
    )
    assert values == {"DEPLOY_TOKEN": OTHER_VALUE}
    assert released == [("DEPLOY_TOKEN", "deploy", "run-1")]


def test_release_is_all_or_nothing_and_names_the_failure(vault: Vault) -> None:
    vault.set("BUILD_TOKEN", VALUE, Scope.build(trust=["internal", "trusted"]))
    vault.set("PROD_KEY", OTHER_VALUE, Scope.build(environments=["production"]))
    released: list[tuple[str, str, str]] = []
    with pytest.raises(VaultError, match="secret PROD_KEY is not released to job deploy") as info:
        vault.release(
            ["BUILD_TOKEN", "PROD_KEY"],
            context(environment="staging"),
            on_release=lambda *event: released.append(event),
        )
    assert "environment 'staging'" in info.value.message
    assert "run-1" in info.value.message
    assert released == []
    with pytest.raises(VaultError, match="needs secret 'MISSING', which is not in the vault"):
        vault.release(["MISSING"], context())
    with pytest.raises(VaultError, match="trust level 'untrusted'"):
        vault.release(["BUILD_TOKEN"], context(trust=Trust.UNTRUSTED))
    assert vault.release([], context()) == {}


def test_name_with_a_trailing_newline_is_refused(vault: Vault) -> None:
    # Python's `$` matches before a final newline; the name becomes a file in /run/bastion.
    with pytest.raises(VaultError, match="invalid secret name"):
        vault.set("TOKEN\n", VALUE, Scope.build())


def test_names_are_validated_and_rm_works(vault: Vault) -> None:
    for bad in ("lower", "1ST", "WITH-DASH", "", "A" * 129):
        with pytest.raises(VaultError, match="invalid secret name"):
            vault.set(bad, VALUE, Scope.build())
    vault.set("GONE_SOON", VALUE, Scope.build())
    vault.remove("GONE_SOON")
    assert vault.list() == []
    with pytest.raises(VaultError, match="no secret named 'GONE_SOON'"):
        vault.remove("GONE_SOON")


def test_weak_values_are_refused_before_anything_is_written(vault: Vault) -> None:
    with pytest.raises(VaultError, match="refusing secret WEAK"):
        vault.set("WEAK", "password1", Scope.build())
    assert not vault.path.exists()


def test_the_file_is_useless_without_its_key(vault: Vault, tmp_path: Path) -> None:
    vault.set("DEPLOY_TOKEN", VALUE, Scope.build())
    with pytest.raises(VaultError, match="was sealed with key"):
        Vault.open(vault.path, LocalKeyProvider.generate())
    # Even a key id forged to match does not open the data keys.
    intruder = LocalKeyProvider.generate()
    document = _document(vault)
    document["kek_id"] = intruder.key_id
    vault.path.write_text(json.dumps(document))
    with pytest.raises(VaultError, match="index key a wrapped data key does not decrypt"):
        Vault.open(vault.path, intruder)
    with pytest.raises(VaultError, match="does not decrypt under the vault key"):
        _unchecked(vault, intruder).release(["DEPLOY_TOKEN"], context())


def test_changed_ciphertext_is_detected(vault: Vault, keys: LocalKeyProvider) -> None:
    vault.set("DEPLOY_TOKEN", VALUE, Scope.build())
    entry = _entry(vault, "DEPLOY_TOKEN")
    raw = bytearray(base64.b64decode(str(entry["ciphertext"])))
    raw[0] ^= 1
    _rewrite(vault, "DEPLOY_TOKEN", "ciphertext", base64.b64encode(bytes(raw)).decode())
    _index_refuses(vault, keys)
    reopened = _unchecked(vault, keys)
    with pytest.raises(VaultError, match="does not decrypt: the vault file was changed"):
        reopened.release(["DEPLOY_TOKEN"], context())
    with pytest.raises(VaultError, match="does not decrypt"):
        reopened.list()


def test_ciphertexts_cannot_move_between_names(vault: Vault, keys: LocalKeyProvider) -> None:
    vault.set("NARROW", VALUE, Scope.build(environments=["production"]))
    vault.set("WIDE", OTHER_VALUE, Scope.build())
    narrow = _entry(vault, "NARROW")
    for field in ("wrapped_dek", "nonce", "ciphertext"):
        _rewrite(vault, "WIDE", field, narrow[field])
    _index_refuses(vault, keys)
    with pytest.raises(VaultError, match="secret WIDE"):
        _unchecked(vault, keys).release(["WIDE"], context())


def test_a_widened_scope_is_detected(vault: Vault, keys: LocalKeyProvider) -> None:
    vault.set("PROD_KEY", VALUE, Scope.build(environments=["production"]))
    _rewrite(vault, "PROD_KEY", "scope", Scope.build().to_json())
    _index_refuses(vault, keys)
    with pytest.raises(VaultError, match="secret PROD_KEY"):
        _unchecked(vault, keys).release(["PROD_KEY"], context())


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["wrapped_dek", "nonce", "ciphertext"]),
    position=st.integers(min_value=0),
    bit=st.integers(min_value=0, max_value=7),
)
def test_any_flipped_bit_is_detected(
    tmp_path: Path, keys: LocalKeyProvider, field: str, position: int, bit: int
) -> None:
    vault = Vault.open(Path(tempfile.mkdtemp(dir=tmp_path)) / "vault.json", keys)
    vault.set("TAMPER_ME", VALUE, Scope.build())
    raw = bytearray(base64.b64decode(str(_entry(vault, "TAMPER_ME")[field])))
    raw[position % len(raw)] ^= 1 << bit
    _rewrite(vault, "TAMPER_ME", field, base64.b64encode(bytes(raw)).decode())
    _index_refuses(vault, keys)
    with pytest.raises(VaultError):
        _unchecked(vault, keys).release(["TAMPER_ME"], context())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "other"}', "is not a Bastion vault file"),
        ('{"format": "bastion-vault", "format_version": 9}', "has vault format 9"),
        ("[]", "is not a Bastion vault file"),
    ],
)
def test_malformed_files(
    tmp_path: Path, keys: LocalKeyProvider, content: str, message: str
) -> None:
    path = tmp_path / "vault.json"
    path.write_text(content)
    with pytest.raises(VaultError, match=message):
        Vault.open(path, keys)


def test_malformed_entries(vault: Vault, keys: LocalKeyProvider) -> None:
    vault.set("DEPLOY_TOKEN", VALUE, Scope.build())
    _rewrite(vault, "DEPLOY_TOKEN", "ciphertext", "***not base64***")
    with pytest.raises(VaultError, match="ciphertext in the vault file is not valid base64"):
        _unchecked(vault, keys).release(["DEPLOY_TOKEN"], context())
    _rewrite(vault, "DEPLOY_TOKEN", "nonce", 5)
    with pytest.raises(VaultError, match="nonce in the vault file is malformed"):
        _unchecked(vault, keys).release(["DEPLOY_TOKEN"], context())
    _rewrite(vault, "DEPLOY_TOKEN", "version", "1")
    with pytest.raises(VaultError, match="secret DEPLOY_TOKEN is malformed"):
        _unchecked(vault, keys).list()
    document = _document(vault)
    document["secrets"] = {"DEPLOY_TOKEN": []}
    vault.path.write_text(json.dumps(document))
    with pytest.raises(VaultError, match="secret DEPLOY_TOKEN is malformed"):
        _unchecked(vault, keys)
    document["secrets"] = []
    vault.path.write_text(json.dumps(document))
    with pytest.raises(VaultError, match="'secrets' table is malformed"):
        Vault.open(vault.path, keys)


def test_removing_or_editing_any_entry_is_detected(vault: Vault, keys: LocalKeyProvider) -> None:
    vault.set("KEEP", VALUE, Scope.build())
    vault.set("ALSO", OTHER_VALUE, Scope.build())
    original = vault.path.read_text()
    document = _document(vault)
    secrets = document["secrets"]
    assert isinstance(secrets, dict)
    del secrets["ALSO"]
    vault.path.write_text(json.dumps(document))
    _index_refuses(vault, keys)
    vault.path.write_text(original)
    _rewrite(vault, "KEEP", "updated", "1999-01-01T00:00:00Z")
    _index_refuses(vault, keys)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (None, "index is missing or malformed"),
        ({"wrapped_key": "!!", "mac": "AA=="}, "index is not valid base64"),
    ],
)
def test_a_broken_index_is_refused(
    vault: Vault, keys: LocalKeyProvider, index: object, message: str
) -> None:
    vault.set("KEEP", VALUE, Scope.build())
    document = _document(vault)
    document["index"] = index
    vault.path.write_text(json.dumps(document))
    with pytest.raises(VaultError, match=message):
        Vault.open(vault.path, keys)


def test_rotate_key_rewraps_everything(vault: Vault, keys: LocalKeyProvider) -> None:
    vault.set("DEPLOY_TOKEN", VALUE, Scope.build())
    new_keys = LocalKeyProvider.generate()
    vault.rotate_key(new_keys)
    with pytest.raises(VaultError, match="was sealed with key"):
        Vault.open(vault.path, keys)
    values = Vault.open(vault.path, new_keys).release(["DEPLOY_TOKEN"], context())
    assert values == {"DEPLOY_TOKEN": VALUE}


def test_concurrent_writers_do_not_lose_changes(tmp_path: Path, keys: LocalKeyProvider) -> None:
    path = tmp_path / "vault.json"
    writers = [Vault.open(path, keys) for _ in range(4)]

    def write(index: int) -> None:
        writers[index].set(f"SECRET_{index}", f"{VALUE}-{index}", Scope.build())

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = [info.name for info in Vault.open(path, keys).list()]
    assert names == [f"SECRET_{i}" for i in range(4)]


def test_update_scope_keeps_the_value_and_widens_under_the_lock(
    vault: Vault, keys: LocalKeyProvider
) -> None:
    vault.set("TOKEN", VALUE, Scope.build(repos=["acme/api"]))

    def add(repo: str) -> None:
        Vault.open(vault.path, keys).update_scope(
            "TOKEN", lambda scope: Scope.build(repos=[*scope.repos, repo], trust=scope.trust)
        )

    threads = [threading.Thread(target=add, args=(f"acme/svc-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reopened = Vault.open(vault.path, keys)
    (info,) = reopened.list()
    assert set(info.scope.repos) == {"acme/api", *(f"acme/svc-{i}" for i in range(4))}
    assert info.version == 5
    assert reopened.release(["TOKEN"], context(repo="acme/svc-2")) == {"TOKEN": VALUE}


def test_update_scope_without_a_change_writes_nothing(vault: Vault) -> None:
    first = vault.set("TOKEN", VALUE, Scope.build())
    assert vault.update_scope("TOKEN", lambda scope: scope) == first
    with pytest.raises(VaultError, match="no secret named 'NOPE'"):
        vault.update_scope("NOPE", lambda scope: scope)
