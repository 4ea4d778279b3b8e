"""Rules on a ``uses:`` reference: pinning, SHA look-alikes, incidents, archives, typos.

>>> parse_uses("actions/checkout@v4").ref, parse_uses("./local").local
('v4', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bastion.scanners.ciconfig.advisories import ActionAdvisories
from bastion.scanners.ciconfig.rules import Hit
from bastion.scanners.ciconfig.yamlsrc import YScalar
from bastion.scanners.finding import Severity

__all__ = ["POPULAR_ACTIONS", "Uses", "check_uses", "parse_uses"]

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_HEXISH = re.compile(r"^[0-9a-fA-F]{7,40}$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_GITHUB_OWNED = frozenset({"actions", "github"})
POPULAR_ACTIONS = (
    "actions/checkout",
    "actions/setup-python",
    "actions/setup-node",
    "actions/setup-go",
    "actions/setup-java",
    "actions/cache",
    "actions/upload-artifact",
    "actions/download-artifact",
    "actions/github-script",
    "actions/labeler",
    "actions/stale",
    "docker/login-action",
    "docker/build-push-action",
    "docker/setup-buildx-action",
    "docker/metadata-action",
    "pypa/gh-action-pypi-publish",
    "github/codeql-action",
    "softprops/action-gh-release",
    "peter-evans/create-pull-request",
    "astral-sh/setup-uv",
    "aws-actions/configure-aws-credentials",
    "azure/login",
    "google-github-actions/auth",
    "codecov/codecov-action",
    "dtolnay/rust-toolchain",
    "hashicorp/setup-terraform",
)


@dataclass(frozen=True, slots=True)
class Uses:
    """A parsed reference: ``owner/repo[/path]@ref``, ``./local`` or ``docker://image``."""

    text: str
    owner: str = ""
    repo: str = ""
    path: str = ""
    ref: str | None = None
    local: bool = False
    docker: bool = False

    @property
    def action(self) -> str:
        """``owner/repo`` in lower case (GitHub names are case-insensitive)."""
        return f"{self.owner}/{self.repo}".lower()


def parse_uses(text: str) -> Uses:
    """Split a ``uses:`` value; never raises (odd forms keep their text for the message)."""
    text = text.strip()
    if text.startswith("./") or text.startswith("../") or text == ".":
        return Uses(text, local=True)
    if text.startswith("docker://"):
        return Uses(text, docker=True, ref=text)
    name, at, ref = text.partition("@")
    owner, _, rest = name.partition("/")
    repo, _, path = rest.partition("/")
    return Uses(text, owner, repo, path, ref if at else None)


def _distance_one(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one edit (insert, delete, swap, change)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
        return len(diff) == 1 or (swapped and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _hit(rule: str, node: YScalar, message: str, key: str, **kw: object) -> Hit:
    return Hit(rule, node.line, node.column, message, key, **kw)  # type: ignore[arg-type]


def _pinning(uses: Uses, node: YScalar) -> list[Hit]:
    if uses.docker:
        if _DIGEST.search(uses.text):
            return []
        return [_hit("unpinned-images", node, f"{uses.text} is not pinned by digest", uses.text)]
    ref = uses.ref
    if ref is None:
        return [_hit("unpinned-uses", node, f"{uses.text} names no ref at all", uses.text)]
    if _FULL_SHA.match(ref):
        return []
    if _HEXISH.match(ref):
        return [
            _hit(
                "sha-like-ref",
                node,
                f"{uses.text}: '{ref}' looks like a commit SHA "
                "but is not a full lowercase one; a tag or branch may carry that name",
                uses.text,
            )
        ]
    owned = uses.owner.lower() in _GITHUB_OWNED
    return [
        _hit(
            "unpinned-uses",
            node,
            f"{uses.text} follows the mutable ref '{ref}'",
            uses.text,
            severity=Severity.LOW if owned else None,
        )
    ]


def _reputation(uses: Uses, node: YScalar, db: ActionAdvisories) -> list[Hit]:
    hits = []
    for incident in db.compromised_by(uses.action, uses.ref or ""):
        ids = ", ".join((incident.id, *incident.aliases))
        hits.append(
            _hit(
                "known-compromised-action",
                node,
                f"{uses.text}: {incident.summary} ({ids}, {incident.date}; list of {db.updated})",
                f"{uses.action}:{incident.id}",
            )
        )
    if uses.action in db.archived:
        hits.append(_hit("archived-uses", node, f"{uses.action} is archived", uses.action))
    for popular in POPULAR_ACTIONS:
        if len(popular) > 8 and _distance_one(uses.action, popular):
            hits.append(
                _hit(
                    "typosquat-uses",
                    node,
                    f"{uses.action} is one typo away from {popular}",
                    uses.action,
                )
            )
    return hits


def _obfuscated(uses: Uses, node: YScalar) -> list[Hit]:
    path = uses.path
    odd = path.endswith("/") or any(part in {"", ".", ".."} for part in path.split("/") if path)
    if "//" in uses.text.replace("docker://", "") or odd:
        return [
            _hit("obfuscation", node, f"{uses.text} is not written in canonical form", uses.text)
        ]
    return []


def check_uses(node: YScalar, db: ActionAdvisories) -> list[Hit]:
    """Every rule on one ``uses:`` value."""
    uses = parse_uses(node.text)
    if uses.local:
        return []
    hits = _pinning(uses, node)
    if not uses.docker:
        hits += _reputation(uses, node, db) + _obfuscated(uses, node)
    return hits
