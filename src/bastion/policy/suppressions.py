"""``.bastion/suppressions.yml``: accepted findings, each with an owner, a reason and an expiry.

    suppressions:
      - fingerprint: 3f2a9c...          # one finding, wherever it moves
        owner: alice@example.com
        reason: constant input, reviewed in #123
        expires: 2026-12-31             # last day it applies
      - rule: py-assert-used            # or a rule on paths (glob; ** crosses folders)
        path: "tests/**"
        gate: sast                      # optional
        owner: team-platform
        reason: asserts are how tests check
        expires: 2027-03-01

    inline_suppressions: false          # refuse `# nosec` / `# nosemgrep` (default: true)

Every entry needs ``owner``, ``reason`` and ``expires``; a missing or empty one, an unknown
key (a typo like ``expiry``) or an entry with both or neither of fingerprint and rule+path is a
:class:`PolicyError` with file and line (exit 2): a suppression nobody answers for, or that
never ends, is refused. An entry past its date stops suppressing and is reported as expired.

Inline markers: a finding whose gate recorded a covering ``# nosec`` or ``# nosemgrep``
(``properties["inline_suppression"]``, see ``bastion.scanners.sast.inline``) is suppressed
by an entry owned by ``inline`` whose reason is the marked source line, never expiring, unless
the file says ``inline_suppressions: false``. An entry of the file wins over a marker.

Globs are matched by our own small translator because ``PurePath.full_match`` (``**``
across folders) arrives only in Python 3.13 and ``fnmatch`` lets ``*`` cross ``/``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from bastion.errors import PolicyError

__all__ = [
    "FindingLike",
    "Suppression",
    "SuppressionMatch",
    "Suppressions",
    "glob_to_regex",
    "inline_suppression",
    "load_suppressions",
    "suppression_notes",
]

_REQUIRED = ("owner", "reason", "expires")
_KNOWN = {"fingerprint", "rule", "path", "gate", *_REQUIRED}
_MAX_BYTES = 1024 * 1024
_TOP_KEYS = frozenset({"suppressions", "inline_suppressions"})
INLINE_OWNER = "inline"
_INLINE_KEY = "inline_suppression"  # the finding property a gate records a marker under


class _HasPath(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int | None: ...


class FindingLike(Protocol):
    """What a suppression matches on (``bastion.scanners.Finding`` has it)."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def gate(self) -> str: ...
    @property
    def location(self) -> _HasPath: ...
    @property
    def properties(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Suppression:
    """One entry; ``source`` is ``file:line`` for messages."""

    owner: str
    reason: str
    expires: dt.date
    source: str
    fingerprint: str | None = None
    rule: str | None = None
    path: str | None = None
    gate: str | None = None

    @property
    def inline(self) -> bool:
        """True for a marker in the source (``# nosec``), not an entry of the file."""
        return self.owner == INLINE_OWNER and self.source.startswith(f"{INLINE_OWNER}:")

    def describe(self) -> str:
        """Who accepts it and until when, for people."""
        if self.inline:
            return f"inline in the source ({self.source.removeprefix(INLINE_OWNER + ':')})"
        return f"by {self.owner} until {self.expires.isoformat()}"

    def target(self) -> str:
        """What it covers, for people: a fingerprint or ``rule on path``."""
        if self.fingerprint:
            return f"fingerprint {self.fingerprint}"
        gate = f"{self.gate}/" if self.gate else ""
        return f"{gate}{self.rule} on {self.path}"

    def matches(self, finding: FindingLike) -> bool:
        """True if this entry covers ``finding`` (expiry aside)."""
        if self.fingerprint is not None:
            return finding.fingerprint == self.fingerprint
        if self.gate is not None and finding.gate != self.gate:
            return False
        return finding.rule_id == self.rule and _path_matches(self.path or "", finding)

    def expired_on(self, today: dt.date) -> bool:
        """True once ``today`` is past the last day it applies."""
        return today > self.expires

    def to_dict(self, status: str) -> dict[str, Any]:
        """JSON-ready form for the policy input."""
        return {
            "status": status,
            "owner": self.owner,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "path": self.path,
            "gate": self.gate,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class SuppressionMatch:
    """How the suppressions bear on one finding."""

    active: Suppression | None = None
    expired: Suppression | None = None

    @property
    def suppressed(self) -> bool:
        """True when an unexpired entry covers the finding."""
        return self.active is not None


def _path_matches(pattern: str, finding: FindingLike) -> bool:
    return glob_to_regex(pattern).fullmatch(finding.location.path) is not None


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """``*`` within a folder, ``**`` across folders (``a/**/b`` also matches ``a/b``), ``?``."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


@dataclass(frozen=True, slots=True)
class Suppressions:
    """Every entry of a suppressions file (possibly none)."""

    entries: tuple[Suppression, ...] = ()
    inline: bool = True

    def match(self, finding: FindingLike, today: dt.date) -> SuppressionMatch:
        """The first active entry covering ``finding`` (the file's first, then an inline
        marker when allowed), and an expired one if no active."""
        expired: Suppression | None = None
        for entry in self.entries:
            if not entry.matches(finding):
                continue
            if not entry.expired_on(today):
                return SuppressionMatch(active=entry)
            expired = expired or entry
        marker = inline_suppression(finding) if self.inline else None
        if marker is not None:
            return SuppressionMatch(active=marker)
        return SuppressionMatch(expired=expired)

    def merged(self, other: Suppressions) -> Suppressions:
        """These entries, then ``other``'s (e.g. the file's, then those accepted on the
        server); whether inline markers count stays this set's choice."""
        return Suppressions(self.entries + other.entries, inline=self.inline)


def inline_suppression(finding: FindingLike) -> Suppression | None:
    """The suppression a gate-recorded inline marker stands for, or None."""
    recorded = finding.properties.get(_INLINE_KEY)
    if not isinstance(recorded, Mapping) or not str(recorded.get("marker", "")).strip():
        return None
    line = str(recorded.get("line", "")).strip() or str(recorded["marker"])
    where = finding.location.path + (f":{finding.location.line}" if finding.location.line else "")
    return Suppression(
        owner=INLINE_OWNER,
        reason=line,
        expires=dt.date.max,  # a marker lasts as long as the line that holds it
        source=f"{INLINE_OWNER}:{where}",
        fingerprint=finding.fingerprint,
    )


def load_suppressions(path: Path) -> Suppressions:
    """Parse ``path``; no file means no suppressions. PolicyError with file:line otherwise."""
    if not path.exists():
        return Suppressions()
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise PolicyError(f"{path}: suppressions file is larger than 1 MiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read suppressions: {exc}") from exc
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise PolicyError(f"{where}: not valid YAML: {exc}") from exc
    if data is None:
        return Suppressions()
    items = data.get("suppressions", []) if isinstance(data, dict) else None
    if not isinstance(data, dict) or set(data) - _TOP_KEYS or not isinstance(items, list):
        raise PolicyError(
            f"{path}:1: expected a mapping with a key `suppressions` holding a list "
            "(and optionally `inline_suppressions: true|false`)",
            hint="see `bastion scan --help` or the README for the format",
        )
    inline = data.get("inline_suppressions", True)
    if not isinstance(inline, bool):
        raise PolicyError(
            f"{path}: inline_suppressions must be true or false, got {inline!r}",
            hint="write `inline_suppressions: false` to refuse `# nosec` and `# nosemgrep`",
        )
    item_nodes = _item_nodes(root)
    return Suppressions(
        tuple(_entry(item, f"{path}:{line}") for item, line in zip(items, item_nodes, strict=True)),
        inline=inline,
    )


def _item_nodes(root: yaml.Node | None) -> list[int]:
    """The 1-based line of each list item under ``suppressions``."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "suppressions" and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []


def _entry(item: Any, where: str) -> Suppression:
    if not isinstance(item, Mapping):
        raise PolicyError(f"{where}: a suppression must be a mapping of keys")
    unknown = sorted(str(k) for k in item if k not in _KNOWN)
    if unknown:
        raise PolicyError(
            f"{where}: unknown key {unknown[0]!r} in suppression",
            hint=f"allowed keys: {', '.join(sorted(_KNOWN))}",
        )
    for key in _REQUIRED:
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise PolicyError(
                f"{where}: suppression has no {key}",
                hint="every suppression needs an owner, a reason and an expiry date",
            )
    has_fingerprint = item.get("fingerprint") is not None
    has_rule = item.get("rule") is not None or item.get("path") is not None
    if has_fingerprint == has_rule:
        raise PolicyError(
            f"{where}: a suppression names either a fingerprint or a rule and a path",
            hint="use `fingerprint: ...`, or `rule: ...` with `path: ...`",
        )
    if has_rule and not (_text(item.get("rule")) and _text(item.get("path"))):
        raise PolicyError(f"{where}: a rule suppression needs both `rule` and `path`")
    return Suppression(
        owner=str(item["owner"]).strip(),
        reason=str(item["reason"]).strip(),
        expires=_date(item["expires"], where),
        source=where,
        fingerprint=_text(item.get("fingerprint")),
        rule=_text(item.get("rule")),
        path=_text(item.get("path")),
        gate=_text(item.get("gate")),
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise PolicyError(
            f"{where}: expires {value!r} is not a date",
            hint="write the last day it applies as YYYY-MM-DD",
        ) from exc


def suppression_notes(entries: Sequence[Suppression], today: dt.date) -> list[dict[str, Any]]:
    """Each entry as a policy-input note with its status (active or expired)."""
    return [e.to_dict("expired" if e.expired_on(today) else "active") for e in entries]
