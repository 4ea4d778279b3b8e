"""Builders for the two shapes most rules take, so the catalog reads as data.

``prefixed`` is a token with a fixed, registered prefix (``ghp_``, ``xoxb-``, ``sk_live_``):
the prefix alone makes it a credential. ``assigned`` is a value that is only a credential
because of the name it is assigned to (``AWS_SECRET_ACCESS_KEY = ...``): the key name is the
context, the value's shape and entropy the evidence.
"""

from __future__ import annotations

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.rule import Rule, Validator

__all__ = ["ASSIGN", "BOUNDARY_AFTER", "BOUNDARY_BEFORE", "assigned", "prefixed"]

# A token is not part of a longer word on either side.
BOUNDARY_BEFORE = r"(?<![A-Za-z0-9_\-])"
BOUNDARY_AFTER = r"(?![A-Za-z0-9_\-])"
# `key = v`, `key: v`, `"key": "v"`, `key := v`, `key => v`, optional quotes.
ASSIGN = r"[\"']?\s{0,4}(?::=|=>|[:=])\s{0,4}[\"'`]?"


def prefixed(
    rule_id: str,
    title: str,
    severity: Severity,
    prefix: str,
    body: str,
    *,
    keywords: tuple[str, ...] | None = None,
    validator: Validator = Validator.NONE,
    entropy: float | None = None,
    after: str = BOUNDARY_AFTER,
) -> Rule:
    """A token recognised by its literal ``prefix`` followed by ``body`` (regex)."""
    literal = prefix.replace("\\", "")
    return Rule(
        id=rule_id,
        title=title,
        severity=severity,
        pattern=f"{BOUNDARY_BEFORE}(?P<secret>{prefix}{body}){after}",
        keywords=keywords or (literal.lower(),),
        validator=validator,
        entropy=entropy,
    )


def assigned(
    rule_id: str,
    title: str,
    severity: Severity,
    context: str,
    value: str,
    *,
    keywords: tuple[str, ...],
    entropy: float | None = 3.0,
    validator: Validator = Validator.NONE,
    generic: bool = False,
) -> Rule:
    """A ``value`` assigned to a key whose name matches ``context`` (case-insensitive)."""
    return Rule(
        id=rule_id,
        title=title,
        severity=severity,
        pattern=(
            f"(?i:{context})[A-Za-z0-9_.\\-]{{0,30}}{ASSIGN}(?P<secret>{value}){BOUNDARY_AFTER}"
        ),
        keywords=keywords,
        entropy=entropy,
        validator=validator,
        generic=generic,
    )
