"""How Bastion severities map to SARIF ``level`` and GitHub's ``security-severity``.

GitHub code scanning ranks security alerts by the rule property ``security-severity`` (a
CVSS-like score as a string): above 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SARIF's own ``level`` has only error/warning/note/none, so it cannot carry critical vs high;
both are kept: ``level`` for generic viewers, the score for GitHub, and our exact severity in
the result's ``properties`` for a lossless round trip.
"""

from __future__ import annotations

from bastion.scanners.finding import Severity

__all__ = [
    "FINGERPRINT_KEY",
    "level_for",
    "security_severity_for",
    "severity_from_level",
    "severity_from_score",
]

# Our key in ``partialFingerprints``; versioned so a future scheme can live beside it.
FINGERPRINT_KEY = "bastion/v1"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    # Unknown blocks by default, so viewers should show it as one that does.
    Severity.UNKNOWN: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SCORE = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}
_FROM_LEVEL = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "note": Severity.LOW,
    "none": Severity.INFO,
}


def level_for(severity: Severity) -> str:
    """The SARIF ``level`` for ``severity``."""
    return _LEVEL[severity]


def security_severity_for(severity: Severity) -> str | None:
    """GitHub's ``security-severity`` score, or None for info (no security rank)."""
    return _SCORE.get(severity)


def severity_from_level(level: str) -> Severity:
    """Severity from a SARIF ``level``; unknown levels count as ``warning`` (the default)."""
    return _FROM_LEVEL.get(level.strip().lower(), Severity.MEDIUM)


def severity_from_score(score: float) -> Severity:
    """Severity from a CVSS-like score, with GitHub's thresholds."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO
