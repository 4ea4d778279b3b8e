"""Context and noise: which candidates are kept, lowered or dropped, and why.

Every decision that is not "keep" carries a reason that ends up in the gate report, so a
dropped candidate is never silent: lock files, values that are placeholders as a whole
(``1234``, ``changeme``, ``xxxx``, ``${VAR}``, ``{{ secret }}``; see ``placeholder``: a value
that merely contains such a run is kept), identifier-like values
caught by generic rules, generic matches whose name says they are an id, a path or public
(``API_KEY_ID``, ``PASSWORD_FILE``, ``MAPBOX_PUBLIC_TOKEN``), test paths, and inline
``bastion:allow secret-<rule> <reason>`` comments (a reason is required: an allow comment
without one is ignored and said so).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.placeholder import placeholder_reason
from bastion.scanners.secrets.rule import Rule

__all__ = ["Action", "Verdict", "judge"]

LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "pipfile.lock",
        "pdm.lock",
        "uv.lock",
        "cargo.lock",
        "composer.lock",
        "gemfile.lock",
        "go.sum",
        "packages.lock.json",
        "mix.lock",
        "pubspec.lock",
        "podfile.lock",
        "flake.lock",
    }
)
# Dotted names and digit-less words: what code assigns to "password" and "token" names far
# more often than a secret (generic rules only; specific rules have their own structure).
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[A-Za-z_\-]+")
_ALLOW = re.compile(
    rb"bastion:allow[ \t]+(secret-[a-z0-9-]+)(?:[ \t]+([^\r\n]*?))?[ \t]*(?:\*/|-->)?\s*$"
)
# The name a generic match is assigned to, at the end of the text before the value.
_KEY_NAME = re.compile(rb"([A-Za-z0-9_.\-]+)[\"']?\s*(?::=|=>|==|[:=])\s*[rbuf]?[\"'`]?$")
# Names that say the value is about a secret, not the secret: `API_KEY_ID`, `TOKEN_URL`,
# `PASSWORD_FILE`, `SECRET_NAME`; and names that say it is public by design.
_NOT_SECRET_NAME = re.compile(
    rb"(?i)(?:[_.\-](?:id|ids|name|path|file|dir|url|uri|type|header|version|hash|digest|length"
    rb"|len|ttl|expiry|expires|env|var|ref|field|prefix|format)$|public|publishable)"
)
_TEST_DIRS = frozenset({"test", "tests", "testdata", "fixtures", "__tests__", "spec", "specs"})
_TEST_FILE = re.compile(r"^(?:test_.*|.*_test\.[a-z]+|.*\.(?:spec|test)\.[a-z]+|conftest\.py)$")


class Action(enum.StrEnum):
    """What happens to a candidate."""

    KEEP = "keep"
    LOWER = "lower"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision on one candidate, its reason, and the severity it is reported at."""

    action: Action
    severity: Severity
    reason: str = ""


def _allow_comment(rule: Rule, lines: tuple[bytes, ...]) -> tuple[bool, str]:
    """(matched, reason) for an allow comment naming ``rule`` on these lines."""
    for line in lines:
        index = line.find(b"bastion:allow")
        if index < 0:
            continue
        match = _ALLOW.search(line, index)
        if match and match.group(1).decode() == rule.tag:
            return True, (match.group(2) or b"").decode("utf-8", "replace").strip()
    return False, ""


def _is_test_path(path: str) -> bool:
    pure = PurePosixPath(path)
    return bool(_TEST_DIRS.intersection(p.lower() for p in pure.parts[:-1])) or bool(
        _TEST_FILE.match(pure.name.lower())
    )


def _name_says_not_secret(secret: bytes, line: bytes) -> bool:
    index = line.find(secret)
    match = _KEY_NAME.search(line, 0, index) if index > 0 else None
    return match is not None and _NOT_SECRET_NAME.search(match.group(1)) is not None


def judge(rule: Rule, secret: bytes, path: str, line: bytes, previous: bytes = b"") -> Verdict:
    """Decide on one candidate found by ``rule`` in ``path`` on ``line``."""
    allowed, why = _allow_comment(rule, (line, previous))
    if allowed and why:
        return Verdict(Action.DROP, rule.severity, f"inline allow: {why}")
    placeholder = placeholder_reason(secret)
    if placeholder is not None:
        return Verdict(Action.DROP, rule.severity, placeholder)
    if PurePosixPath(path).name.lower() in LOCK_FILES:
        if rule.generic:
            return Verdict(Action.DROP, rule.severity, "generic match in a lock file")
        return Verdict(Action.LOWER, Severity.LOW, "in a lock file")
    if rule.generic and _IDENTIFIER.fullmatch(secret):
        return Verdict(Action.DROP, rule.severity, "identifier-like value, not a secret")
    if rule.generic and _name_says_not_secret(secret, line):
        return Verdict(Action.DROP, rule.severity, "its name says it is an id, path or public")
    if rule.generic and _is_test_path(path):
        return Verdict(Action.LOWER, Severity.LOW, "generic match in a test path")
    if allowed:
        return Verdict(Action.KEEP, rule.severity, "inline allow without a reason is ignored")
    return Verdict(Action.KEEP, rule.severity)
