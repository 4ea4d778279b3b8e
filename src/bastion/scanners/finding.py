"""The one finding type every gate returns.

    >>> from bastion.scanners.finding import Finding, Location, Severity
    >>> f = Finding.create(gate="sast", rule_id="py-eval", severity=Severity.HIGH,
    ...                    message="eval of input", location=Location("app.py", 3),
    ...                    match_key="eval(request.args['q'])")
    >>> f.fingerprint == Finding.create(gate="sast", rule_id="py-eval",
    ...     severity=Severity.HIGH, message="moved and renamed",
    ...     location=Location("src/other.py", 90), match_key="eval(request.args['q'])").fingerprint
    True

The fingerprint deliberately leaves out the path and line: it hashes the gate, the rule and a
*match key* the scanner chooses (the offending line's normalised text, a package and version,
a resource address), so a finding keeps its identity when unrelated lines move or the file is
renamed. That is what baselines, suppressions and triage across branches key on.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Finding", "Location", "Severity", "normalise_match_text"]


class Severity(enum.StrEnum):
    """Severity levels, most severe first.

    ``unknown`` is a level of its own, not a guess: a vulnerability whose records give no
    score or rating. It ranks between high and medium, and the default policy blocks it (a
    missing severity must not read as harmless); a user policy may relax that.
    """

    CRITICAL = "critical"
    HIGH = "high"
    UNKNOWN = "unknown"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """5 for critical down to 0 for info (unknown 3, between high and medium)."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Accept any case and the common synonyms scanners use."""
        lowered = text.strip().lower()
        lowered = _SYNONYMS.get(lowered, lowered)
        return cls(lowered)


_RANK = {
    Severity.CRITICAL: 5,
    Severity.HIGH: 4,
    Severity.UNKNOWN: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
_SYNONYMS = {
    "error": "high",
    "warning": "medium",
    "moderate": "medium",
    "note": "low",
    "none": "info",
    "informational": "info",
}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a repository-relative POSIX path, 1-based line and column."""

    path: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    commit: str | None = None

    def __post_init__(self) -> None:
        if self.path.startswith("/") or "\\" in self.path:
            raise ValueError(f"finding path must be repository-relative POSIX: {self.path!r}")
        if self.line is not None and self.line < 1:
            raise ValueError(f"line numbers start at 1, got {self.line}")

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


def normalise_match_text(text: str) -> str:
    """Collapse whitespace so re-indenting a line keeps its fingerprint."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a gate reports. Build with :meth:`create` so the fingerprint is right."""

    rule_id: str
    gate: str
    severity: Severity
    message: str
    location: Location
    fingerprint: str
    title: str = ""
    cwe: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    fix: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        gate: str,
        rule_id: str,
        severity: Severity,
        message: str,
        location: Location,
        match_key: str,
        title: str = "",
        cwe: tuple[str, ...] = (),
        ids: tuple[str, ...] = (),
        fix: str | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Finding:
        """Make a finding whose fingerprint hashes gate, rule and ``match_key``."""
        digest = hashlib.sha256(
            "\x1f".join((gate, rule_id, normalise_match_text(match_key))).encode()
        ).hexdigest()
        return cls(
            rule_id=rule_id,
            gate=gate,
            severity=severity,
            message=message,
            location=location,
            fingerprint=digest[:32],
            title=title,
            cwe=cwe,
            ids=ids,
            fix=fix,
            properties=dict(properties or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the transport between a sandboxed gate and the engine)."""
        return {
            "rule_id": self.rule_id,
            "gate": self.gate,
            "severity": self.severity.value,
            "message": self.message,
            "title": self.title,
            "location": {
                "path": self.location.path,
                "line": self.location.line,
                "column": self.location.column,
                "end_line": self.location.end_line,
                "commit": self.location.commit,
            },
            "fingerprint": self.fingerprint,
            "cwe": list(self.cwe),
            "ids": list(self.ids),
            "fix": self.fix,
            "properties": dict(self.properties),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`; raises ``KeyError``/``ValueError`` on bad input.

        The dictionary may come from a sandboxed scanner, so types are checked, not trusted.
        """
        loc = data["location"]
        if not isinstance(loc, Mapping):
            raise ValueError("finding location must be an object")
        fix = data.get("fix")
        if fix is not None and not isinstance(fix, str):
            raise ValueError("finding fix must be a string or null")
        return cls(
            rule_id=str(data["rule_id"]),
            gate=str(data["gate"]),
            severity=Severity(data["severity"]),
            message=str(data["message"]),
            title=str(data.get("title", "")),
            location=Location(
                path=str(loc["path"]),
                line=_optional_int(loc.get("line")),
                column=_optional_int(loc.get("column")),
                end_line=_optional_int(loc.get("end_line")),
                commit=None if loc.get("commit") is None else str(loc["commit"]),
            ),
            fingerprint=str(data["fingerprint"]),
            cwe=_strings(data.get("cwe", ())),
            ids=_strings(data.get("ids", ())),
            fix=fix,
            properties=dict(data.get("properties", {})),
        )


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer or null, got {value!r}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return tuple(value)
