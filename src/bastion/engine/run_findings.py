"""The findings a gate job was judged on, as a run records and shows them.

A gate's verdict (:class:`~bastion.engine.model.GateVerdict`) carries every finding the
policy saw as a :class:`JudgedFinding`; the recorder stores them in the ``findings`` table
(:class:`bastion.store.FindingRecord`), ``bastion run`` lists those that blocked it and
``bastion runs show ID --findings`` reads them back.

    >>> item = JudgedFinding("sast", "B602", "high", "app.py", 3, "shell=True", "fp1")
    >>> item.where, item.shown_by_default
    ('app.py:3', True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bastion.scanners.finding import Severity

if TYPE_CHECKING:  # the verdict's vocabulary (engine.model) stays free of the gate runner
    from bastion.engine.gates import AssessedFinding

__all__ = [
    "QUIET_SEVERITIES",
    "JudgedFinding",
    "finding_order",
    "judged",
    "severity_rank",
    "worst_first",
]

QUIET_SEVERITIES = frozenset({Severity.LOW.value, Severity.INFO.value})
"""Counted in every summary, listed on screen only when asked (``--all``, ``-v``)."""


@dataclass(frozen=True, slots=True)
class JudgedFinding:
    """One finding of a gate job with what the baseline and the suppressions said of it."""

    gate: str
    rule_id: str
    severity: str
    path: str
    line: int | None
    message: str
    fingerprint: str
    new: bool = True
    suppressed: bool = False
    suppressed_by: str | None = None  # who accepts it (and until when), for people
    suppressed_reason: str | None = None

    @property
    def where(self) -> str:
        """``path:line`` (``path`` without a line, ``(no file)`` without a path)."""
        if not self.path:
            return "(no file)"
        return f"{self.path}:{self.line}" if self.line else self.path

    @property
    def shown_by_default(self) -> bool:
        """Listed without ``--all``: above low and info."""
        return self.severity not in QUIET_SEVERITIES

    @property
    def blocking(self) -> bool:
        """Could have blocked: not suppressed and not quiet (the default policy's view)."""
        return not self.suppressed and self.shown_by_default

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the same keys as the table's columns)."""
        return {
            "gate": self.gate,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "fingerprint": self.fingerprint,
            "new": self.new,
            "suppressed": self.suppressed,
            "suppressed_by": self.suppressed_by,
            "suppressed_reason": self.suppressed_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgedFinding:
        """The inverse of :meth:`to_dict`."""
        line = data.get("line")
        return cls(
            gate=str(data.get("gate", "")),
            rule_id=str(data.get("rule_id", "")),
            severity=str(data.get("severity", Severity.INFO.value)),
            path=str(data.get("path") or ""),
            line=line if isinstance(line, int) else None,
            message=str(data.get("message", "")),
            fingerprint=str(data.get("fingerprint", "")),
            new=data.get("new") is not False,
            suppressed=data.get("suppressed") is True,
            suppressed_by=_text_or_none(data.get("suppressed_by")),
            suppressed_reason=_text_or_none(data.get("suppressed_reason")),
        )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def judged(assessed: AssessedFinding) -> JudgedFinding:
    """The recorded form of a finding the policy assessed."""
    finding, entry = assessed.finding, assessed.suppression
    return JudgedFinding(
        gate=finding.gate,
        rule_id=finding.rule_id,
        severity=finding.severity.value,
        path=finding.location.path,
        line=finding.location.line,
        message=finding.message,
        fingerprint=finding.fingerprint,
        new=assessed.new,
        suppressed=assessed.suppressed,
        suppressed_by=entry.describe() if entry else None,
        suppressed_reason=entry.reason if entry else None,
    )


_RANK = {severity.value: index for index, severity in enumerate(Severity)}


def severity_rank(severity: str) -> int:
    """0 for critical, growing to info; an unknown word ranks last."""
    return _RANK.get(severity, len(_RANK))


def finding_order(finding: JudgedFinding) -> tuple[int, str, int]:
    """The sort key of :func:`worst_first`: severity (worst first), then place."""
    return severity_rank(finding.severity), finding.path, finding.line or 0


def worst_first(findings: Iterable[JudgedFinding]) -> list[JudgedFinding]:
    """Findings by severity (worst first), then place."""
    return sorted(findings, key=finding_order)
