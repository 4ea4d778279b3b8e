"""Every rule: a generated true positive is found, a near miss is not."""

from __future__ import annotations

import random

import pytest

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.catalog import load_rules, validate_catalog
from bastion.scanners.secrets.engine import Engine, relax_pattern
from bastion.scanners.secrets.hits import hits_in_file
from bastion.scanners.secrets.noise import Action
from bastion.scanners.secrets.rule import Rule, RuleError, Validator
from bastion.scanners.secrets.samples import SAMPLES, render

RULE_IDS = [rule.id for rule in load_rules()]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.default()


def _kept(engine: Engine, text: str) -> set[str]:
    hits = hits_in_file(engine, text.encode() + b"\n", "app/settings.py")
    return {h.rule_id for h in hits if h.action is not Action.DROP}


def test_catalog_is_large_and_every_rule_has_samples() -> None:
    assert len(RULE_IDS) >= 80
    assert set(RULE_IDS) == set(SAMPLES)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_true_positive_is_found(engine: Engine, rule_id: str) -> None:
    rng = random.Random(rule_id)
    for _ in range(3):
        assert rule_id in _kept(engine, render(SAMPLES[rule_id][0], rng))


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_near_miss_is_not_found(engine: Engine, rule_id: str) -> None:
    rng = random.Random(rule_id)
    assert rule_id not in _kept(engine, render(SAMPLES[rule_id][1], rng))


@pytest.mark.parametrize("rule", load_rules(), ids=RULE_IDS)
def test_relaxed_prefilter_still_matches_the_rule(rule: Rule) -> None:
    import re

    sample = render(SAMPLES[rule.id][0], random.Random(1)).encode()
    relaxed = re.compile(relax_pattern(rule.scan_pattern).encode())
    assert relaxed.search(sample) is not None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "Bad_Id"}, "lowercase words"),
        ({"title": ""}, "title is empty"),
        ({"keywords": ()}, "keywords"),
        ({"keywords": ("UPPER",)}, "keywords"),
        ({"entropy": 9.0}, "entropy floor"),
        ({"pattern": "(unclosed"}, "does not compile"),
        ({"pattern": "abc"}, "named group 'secret'"),
        ({"multiline": True}, "multiline rules need"),
        ({"window": 10}, "only multiline"),
    ],
)
def test_malformed_rules_are_rejected(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "id": "demo",
        "title": "Demo",
        "severity": Severity.HIGH,
        "pattern": "(?P<secret>demo_[a-z]{8})",
        "keywords": ("demo_",),
    }
    fields.update(changes)
    with pytest.raises(RuleError, match=message):
        Rule(**fields)  # type: ignore[arg-type]


def test_duplicate_ids_are_rejected() -> None:
    rule = load_rules()[0]
    with pytest.raises(RuleError, match="defined twice"):
        validate_catalog((rule, rule))


def test_every_validator_is_used_by_some_rule() -> None:
    used = {rule.validator for rule in load_rules()}
    assert used == set(Validator)


def test_generic_rule_yields_to_specific_overlap(engine: Engine) -> None:
    token = render("<<gh:ghp_>>", random.Random(3))
    kept = _kept(engine, f'api_token = "{token}"')
    assert "github-pat" in kept
    assert "generic-secret" not in kept


def test_relax_pattern_opens_bounded_repeats() -> None:
    assert relax_pattern("a{0,30}b{40,200}c{64}d{3}") == "a*b{16,}c{16,}d{3}"
