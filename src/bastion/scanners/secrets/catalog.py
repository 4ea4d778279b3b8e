"""The rule catalog: every built-in rule, validated once when first asked for.

Rules are Python data (frozen :class:`~bastion.scanners.secrets.rule.Rule` values) split by
domain across the ``catalog_*`` modules; this module joins them and checks what no single
rule can check alone: identifiers are unique. Which public credential kinds have a rule, and
why the few without one have none, is :mod:`~bastion.scanners.secrets.coverage`.
"""

from __future__ import annotations

import functools

from bastion.scanners.secrets.catalog_cloud import CLOUD_RULES
from bastion.scanners.secrets.catalog_comms import COMMS_RULES
from bastion.scanners.secrets.catalog_dev import DEV_RULES
from bastion.scanners.secrets.catalog_keys import KEY_RULES
from bastion.scanners.secrets.catalog_saas import SAAS_RULES
from bastion.scanners.secrets.catalog_vendor import VENDOR_RULES
from bastion.scanners.secrets.rule import Rule, RuleError

__all__ = ["load_rules", "validate_catalog"]


def validate_catalog(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """Return ``rules`` unchanged if their ids are unique; raise :class:`RuleError` otherwise."""
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"rule id {rule.id!r} is defined twice")
        seen.add(rule.id)
    return rules


@functools.cache
def load_rules() -> tuple[Rule, ...]:
    """Every built-in rule, specific rules before generic ones."""
    rules = CLOUD_RULES + DEV_RULES + COMMS_RULES + SAAS_RULES + VENDOR_RULES + KEY_RULES
    return validate_catalog(tuple(sorted(rules, key=lambda r: r.generic)))
