"""Noise decisions: each non-keep verdict carries its reason."""

from __future__ import annotations

import pytest

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.catalog import load_rules
from bastion.scanners.secrets.noise import Action, judge

RULES = {rule.id: rule for rule in load_rules()}
GENERIC = RULES["generic-secret"]
SPECIFIC = RULES["github-pat"]


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (b"AKIAIOSFODNN7EXAMPLE", "documentation example"),
        (b"xxxxxxxxxxxxxxxx", "placeholder value"),
        (b"sk_live_xxxxxxxxxxxxxxxxxxxxxxxx", "placeholder value"),
        (b"1234", "placeholder value"),
        (b"changeme", "placeholder value"),
        (b"REPLACE_ME_WITH_TOKEN", "placeholder value"),
        (b"********", "placeholder value"),
        (b"<password>", "placeholder"),
        (b"${DB_PASSWORD}", "placeholder"),
        (b"{{ secret }}", "placeholder"),
        (b"<your-token-here>", "placeholder"),
    ],
)
def test_fixtures_and_placeholders_are_dropped(secret: bytes, reason: str) -> None:
    verdict = judge(SPECIFIC, secret, "app.py", b"x = " + secret)
    assert verdict.action is Action.DROP
    assert reason in verdict.reason


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (b'administrator_login_password = "Zq9#Lm2x1234Vt"', b"Zq9#Lm2x1234Vt"),
        (b'DB_PASSWORD = "Aa12345678"', b"Aa12345678"),
    ],
)
def test_value_merely_containing_a_run_is_kept(line: bytes, secret: bytes) -> None:
    """Issue 23: a real password holding ``1234`` was dropped as "obviously fake"."""
    verdict = judge(GENERIC, secret, "infra/main.tf", line)
    assert verdict.action is Action.KEEP


def test_lock_files_drop_generic_and_lower_specific() -> None:
    value = b"Zk29dLq0pW8xR4tY"
    assert judge(GENERIC, value, "web/package-lock.json", b"").action is Action.DROP
    lowered = judge(SPECIFIC, value, "poetry.lock", b"")
    assert (lowered.action, lowered.severity) == (Action.LOWER, Severity.LOW)


def test_identifier_like_generic_values_are_dropped() -> None:
    assert judge(GENERIC, b"settings.SECRET_KEY", "a.py", b"").action is Action.DROP
    assert judge(GENERIC, b"password_reset_form", "a.py", b"").action is Action.DROP


def test_generic_hit_in_test_path_is_lowered() -> None:
    verdict = judge(GENERIC, b"Zk29dLq0pW8xR4tY", "tests/test_api.py", b"")
    assert (verdict.action, verdict.severity) == (Action.LOWER, Severity.LOW)


def test_inline_allow_needs_the_rule_and_a_reason() -> None:
    line = b'token = "ghp_x"  # bastion:allow secret-github-pat rotated 2024-01, kept for docs'
    verdict = judge(SPECIFIC, b"Zk29dLq0pW8xR4tY", "a.py", line)
    assert verdict.action is Action.DROP
    assert verdict.reason == "inline allow: rotated 2024-01, kept for docs"
    previous = b"# bastion:allow secret-github-pat fixture for the parser tests"
    assert judge(SPECIFIC, b"Zk29dLq0pW8xR4tY", "a.py", b"x", previous).action is Action.DROP
    other_rule = b"x  # bastion:allow secret-slack-bot-token some reason"
    assert judge(SPECIFIC, b"Zk29dLq0pW8xR4tY", "a.py", other_rule).action is Action.KEEP
    no_reason = judge(SPECIFIC, b"Zk29dLq0pW8xR4tY", "a.py", b"x # bastion:allow secret-github-pat")
    assert no_reason.action is Action.KEEP
    assert "without a reason" in no_reason.reason


@pytest.mark.parametrize(
    "line",
    [
        b'PRIVATE_KEY_ID = "Zq8vL2pW9xR4tY7uK3mN5bV1"',
        b'SECRET_NAME = "Zq8vL2pW9xR4tY7uK3mN5bV1"',
        b'MAPBOX_PUBLIC_TOKEN = "Zq8vL2pW9xR4tY7uK3mN5bV1"',
    ],
)
def test_generic_match_named_as_id_path_or_public_is_dropped(line: bytes) -> None:
    rule = next(r for r in load_rules() if r.id == "generic-secret")
    verdict = judge(rule, b"Zq8vL2pW9xR4tY7uK3mN5bV1", "app/settings.py", line)
    assert verdict.action is Action.DROP
    assert "name says" in verdict.reason


def test_generic_match_named_as_a_key_is_kept() -> None:
    rule = next(r for r in load_rules() if r.id == "generic-secret")
    line = b'PAYMENTS_API_KEY = "Zq8vL2pW9xR4tY7uK3mN5bV1"'
    assert judge(rule, b"Zq8vL2pW9xR4tY7uK3mN5bV1", "app/settings.py", line).action is Action.KEEP
