"""Values too short, too common or too guessable to mask are refused, with a reason."""

from __future__ import annotations

import pytest

from bastion.errors import VaultError
from bastion.vault import check_secret_value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("short1!", "7 characters long"),
        ("sunshine", "common word"),
        ("Password2024!", "common word"),
        ("P@ssw0rd", "common word"),
        ("!!sunshine99", "common word"),
        ("production", "common word"),
        ("aaaaaaaaaaaa", "fewer than 5 distinct"),
        ("abcdeabcde", "repeated"),
        ("qwertyuiop", "keyboard or alphabet run"),
        ("0987654321", "keyboard or alphabet run"),
        ("abcdefghij", "keyboard or alphabet run"),
        ("202405171234", "only digits"),
        ("has\0nul-byte", "NUL byte"),
        ("x" * 3 + "yzwvu" * 20000, "larger than"),
    ],
)
def test_refusals_explain_without_showing_the_value(value: str, reason: str) -> None:
    with pytest.raises(VaultError, match="refusing secret API_TOKEN") as info:
        check_secret_value("API_TOKEN", value)
    assert reason in info.value.message
    assert value not in info.value.diagnostics()
    assert info.value.hint is not None


@pytest.mark.parametrize(
    "value",
    [
        "kT9vQ2xLmP4wZ8rN",
        "ghp_Abc123Def456Ghi789Jkl012",
        "correct-Horse-battery-Staple-91",
        "8204719365018274",  # digits only but long enough
        "-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n-----END KEY-----",
    ],
)
def test_strong_values_pass(value: str) -> None:
    check_secret_value("API_TOKEN", value)


@pytest.mark.parametrize("value", ["sunshine", "aaaaaaaaaaaa", "qwertyuiop", "202405171234"])
def test_force_lifts_guessability_rules(value: str) -> None:
    with pytest.raises(VaultError):
        check_secret_value("API_TOKEN", value)
    check_secret_value("API_TOKEN", value, force=True)


@pytest.mark.parametrize("value", ["abc", "ab3$x", "short1!", "has\0nul-byte"])
def test_force_never_lifts_length_or_nul(value: str) -> None:
    with pytest.raises(VaultError, match="refusing secret API_TOKEN"):
        check_secret_value("API_TOKEN", value, force=True)
