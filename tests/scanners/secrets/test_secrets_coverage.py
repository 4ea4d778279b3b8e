"""Every public credential kind has a rule, or a documented reason why reporting it is wrong."""

from __future__ import annotations

from bastion.scanners.secrets.catalog import load_rules
from bastion.scanners.secrets.coverage import COVERED, GITLEAKS_KINDS, NOT_COVERED


def test_every_kind_is_covered_or_explained() -> None:
    assert len(GITLEAKS_KINDS) == len(set(GITLEAKS_KINDS)) >= 200
    assert set(COVERED) | set(NOT_COVERED) == set(GITLEAKS_KINDS)
    assert not set(COVERED) & set(NOT_COVERED)


def test_every_covering_rule_exists() -> None:
    ids = {rule.id for rule in load_rules()}
    assert {kind: rule for kind, rule in COVERED.items() if rule not in ids} == {}


def test_uncovered_kinds_are_few_and_have_reasons() -> None:
    assert len(NOT_COVERED) <= 20
    assert all(len(reason) > 40 for reason in NOT_COVERED.values())
