"""A vulnerability's severity: computed from its CVSS vector, never guessed.

Order of evidence: the highest base score computable from a CVSS v4.0, v3.x or v2 vector in
the record (or, when the record has none, in the records it aliases: the index borrows those
at import time, see :mod:`bastion.scanners.sca.index`); else the record's own severity word
(GHSA's ``database_specific.severity``); else ``unknown``, a level of its own that the default
policy blocks, with the reason recorded ("severity unknown: ..."): a missing score is never
read as a moderate one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bastion.scanners.finding import Severity
from bastion.scanners.sca.cvss import CvssError, score_vector
from bastion.scanners.sca.osv import Advisory

__all__ = ["SeverityJudgement", "judge_severity"]


@dataclass(frozen=True, slots=True)
class SeverityJudgement:
    """A severity, the evidence it came from, and the CVSS details when scored."""

    severity: Severity
    source: str
    score: float | None = None
    vector: str | None = None


def _from_rating(text: str) -> Severity:
    return Severity.INFO if text == "none" else Severity.parse(text)


def _borrowed(advisory: Advisory) -> str:
    return f" (from alias {advisory.severity_from})" if advisory.severity_from else ""


def judge_severity(advisories: Iterable[Advisory]) -> SeverityJudgement:
    """The severity of one vulnerability known under one or more merged records."""
    group = list(advisories)
    best: SeverityJudgement | None = None
    unscored: list[str] = []
    for advisory in group:
        for kind, vector in advisory.severity:
            try:
                result = score_vector(vector)
            except CvssError:
                unscored.append(kind)
                continue
            if best is None or (best.score or 0.0) < result.score:
                best = SeverityJudgement(
                    _from_rating(result.rating),
                    f"CVSS {result.version} base score{_borrowed(advisory)}",
                    result.score,
                    vector,
                )
    if best is not None:
        return best
    for advisory in group:
        if advisory.db_severity:
            try:
                return SeverityJudgement(
                    Severity.parse(advisory.db_severity),
                    f"{advisory.severity_from or advisory.id} database severity",
                )
            except ValueError:
                unscored.append(advisory.db_severity)
    reason = (
        f"severity unknown: {', '.join(sorted(set(unscored)))} not scored"
        if unscored
        else "severity unknown: no CVSS vector or severity in the record or its aliases"
    )
    return SeverityJudgement(Severity.UNKNOWN, reason)
