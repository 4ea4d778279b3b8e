"""Rotation schedules: max-age parsing, rotate keeping scope and schedule, overdue secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.errors import UsageError, VaultError
from bastion.vault import (
    LocalKeyProvider,
    Scope,
    Vault,
    format_age,
    overdue_secrets,
    parse_max_age,
)

from .vault_support import OTHER_VALUE, VALUE, context

DAY = 86400


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault.open(tmp_path / "vault.json", LocalKeyProvider.from_file(tmp_path / "kek"))


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * DAY), ("12h", 43200), ("4w", 28 * DAY), ("30s", 30)]
)
def test_parse_max_age(text: str, seconds: int) -> None:
    assert parse_max_age(text) == seconds


@pytest.mark.parametrize("text", ["", "0d", "90", "d", "1y", "-1d", "1.5d", "9999999d"])
def test_parse_max_age_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_max_age(text)


@given(st.integers(min_value=1, max_value=999_999), st.sampled_from("smhdw"))
def test_format_age_round_trips(number: int, unit: str) -> None:
    seconds = parse_max_age(f"{number}{unit}")
    assert parse_max_age(format_age(seconds)) == seconds


def test_schedule_is_kept_by_set_and_rotate(vault: Vault) -> None:
    scope = Scope.build(branches=["main"])
    first = vault.set("TOKEN", VALUE, scope, max_age=90 * DAY)
    assert (first.max_age, first.rotated) == (90 * DAY, first.updated)
    again = vault.set("TOKEN", VALUE, scope)
    assert again.max_age == 90 * DAY
    rotated = vault.rotate("TOKEN", OTHER_VALUE)
    assert (rotated.version, rotated.scope, rotated.max_age) == (3, scope, 90 * DAY)
    assert vault.release(["TOKEN"], context()) == {"TOKEN": OTHER_VALUE}
    [listed] = vault.list()
    assert (listed.max_age, listed.rotated) == (90 * DAY, rotated.rotated)


def test_rotate_refuses_a_missing_secret_or_the_same_value(vault: Vault) -> None:
    with pytest.raises(VaultError, match="no secret named 'TOKEN'"):
        vault.rotate("TOKEN", VALUE)
    vault.set("TOKEN", VALUE, Scope.build())
    with pytest.raises(VaultError, match="is the current one") as caught:
        vault.rotate("TOKEN", VALUE)
    assert VALUE not in caught.value.diagnostics()
    assert vault.list()[0].version == 1


def test_a_scope_change_is_not_a_rotation(vault: Vault) -> None:
    vault.set("TOKEN", VALUE, Scope.build(), max_age=DAY)
    entries = json.loads(vault.path.read_text())["secrets"]
    before = entries["TOKEN"]["rotated"]
    widened = vault.update_scope("TOKEN", lambda s: Scope.build(branches=["main", "dev"]))
    assert (widened.version, widened.rotated, widened.max_age) == (2, before, DAY)


def test_overdue_secrets(vault: Vault) -> None:
    vault.set("OLD", VALUE, Scope.build(), max_age=DAY)
    vault.set("NEW", OTHER_VALUE, Scope.build(), max_age=7 * DAY)
    vault.set("FOREVER", "Pq8Lm2Nx7Kv4Jw9Z-forever", Scope.build())
    now = _at(vault.list()[0].updated)
    assert overdue_secrets(vault.list(), now + timedelta(days=1)) == []
    [late] = overdue_secrets(vault.list(), now + timedelta(days=2))
    assert (late.name, late.age, late.max_age) == ("OLD", 2 * DAY, DAY)
    assert late.to_json() == {"name": "OLD", "rotated": late.rotated, "age": "2d", "max_age": "1d"}
    names = [s.name for s in overdue_secrets(vault.list(), now + timedelta(days=30))]
    assert sorted(names) == ["NEW", "OLD"]


def test_a_schedule_edited_in_the_file_is_refused(vault: Vault, tmp_path: Path) -> None:
    vault.set("TOKEN", VALUE, Scope.build(), max_age=DAY)
    document = json.loads(vault.path.read_text())
    document["secrets"]["TOKEN"]["max_age"] = 10_000 * DAY
    vault.path.write_text(json.dumps(document))
    with pytest.raises(VaultError):
        Vault.open(vault.path, LocalKeyProvider.from_file(tmp_path / "kek"))


def test_a_schedule_is_optional_and_positive(vault: Vault) -> None:
    info = vault.set("TOKEN", VALUE, Scope.build())
    assert info.max_age is None
    with pytest.raises(VaultError, match="positive"):
        vault.set("TOKEN", VALUE, Scope.build(), max_age=0)
