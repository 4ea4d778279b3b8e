"""The Semgrep rule set Bastion ships (``rules/*.yml``), and what it says about Bandit.

    >>> "py-eval-dynamic" in {rule.rule_id for rule in shipped_rules()}
    True

Each rule's ``metadata.bandit`` lists the Bandit tests that find the same flaw; the gate uses
it to merge a Bandit result into the Semgrep result on the same line instead of reporting one
flaw twice, and to give Bandit results the rule's fix text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ShippedRule", "bandit_fixes", "rules_dir", "shipped_rules"]


@dataclass(frozen=True, slots=True)
class ShippedRule:
    """The parts of one shipped rule the gate needs outside Semgrep."""

    rule_id: str
    fix: str
    bandit: tuple[str, ...]


def rules_dir() -> Path:
    """The directory of shipped rule files (a real directory: the package is not zipped)."""
    return Path(str(resources.files("bastion.scanners.sast").joinpath("rules")))


def _rule(raw: Any) -> ShippedRule:
    metadata = raw.get("metadata", {})
    return ShippedRule(
        rule_id=str(raw["id"]),
        fix=" ".join(str(metadata.get("fix", "")).split()),
        bandit=tuple(str(item) for item in metadata.get("bandit", [])),
    )


@cache
def shipped_rules() -> tuple[ShippedRule, ...]:
    """Every rule in the shipped files, in file order."""
    rules: list[ShippedRule] = []
    for path in sorted(rules_dir().glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        rules.extend(_rule(raw) for raw in document["rules"])
    return tuple(rules)


@cache
def bandit_fixes() -> dict[str, str]:
    """Bandit test id -> the fix text of the shipped rule that covers the same flaw."""
    fixes: dict[str, str] = {}
    for rule in shipped_rules():
        for test_id in rule.bandit:
            fixes.setdefault(test_id, rule.fix)
    return fixes
