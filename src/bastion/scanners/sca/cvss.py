"""CVSS base scores computed from vectors: v2, v3.0, v3.1 and v4.0.

v2 and v3.x are a page of formula each (specification section 7, with its Roundup), written
here and tested against the specification's and NVD's vectors and, by property test, against
the ``cvss`` library. v4.0 scores come from a macro-vector lookup table of the specification,
so they are delegated to ``cvss`` (Red Hat's maintained implementation of all versions).

    >>> score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    CvssScore(version='3.1', score=9.8, rating='critical')
    >>> score_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    CvssScore(version='4.0', score=9.3, rating='critical')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from cvss import CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

__all__ = ["CvssError", "CvssScore", "rating", "score_vector"]

_V3_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_V3_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_V2_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"L": 0.395, "A": 0.646, "N": 1.0},
    "AC": {"H": 0.35, "M": 0.61, "L": 0.71},
    "Au": {"M": 0.45, "S": 0.56, "N": 0.704},
    "C": {"N": 0.0, "P": 0.275, "C": 0.660},
    "I": {"N": 0.0, "P": 0.275, "C": 0.660},
    "A": {"N": 0.0, "P": 0.275, "C": 0.660},
}


class CvssError(ValueError):
    """A vector is malformed or of a version this module does not score."""


@dataclass(frozen=True, slots=True)
class CvssScore:
    """A base score with its CVSS version and qualitative rating."""

    version: str
    score: float
    rating: str


def rating(score: float, version: str = "3.1") -> str:
    """The qualitative rating of a base score (v3 table; v2 uses NVD's three bands)."""
    if version == "2.0":
        return "low" if score < 4.0 else "medium" if score < 7.0 else "high"
    if score == 0.0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    return "high" if score < 9.0 else "critical"


def _metrics(parts: list[str], vector: str) -> dict[str, str]:
    metrics: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition(":")
        if not sep or key in metrics:
            raise CvssError(f"malformed CVSS vector {vector!r} at {part!r}")
        metrics[key] = value
    return metrics


def _roundup_31(value: float) -> float:
    # CVSS 3.1 Appendix A: integer arithmetic avoids floating-point artefacts.
    integer = round(value * 100_000)
    if integer % 10_000 == 0:
        return integer / 100_000
    return (math.floor(integer / 10_000) + 1) / 10.0


def _roundup_30(value: float) -> float:
    return math.ceil(value * 10) / 10


def _score_v3(version: str, metrics: dict[str, str], vector: str) -> float:
    try:
        scope = metrics["S"]
        weights = {key: _V3_WEIGHTS[key][metrics[key]] for key in _V3_WEIGHTS}
        privileges = _V3_PR[scope][metrics["PR"]]
    except KeyError as exc:
        raise CvssError(f"CVSS vector {vector!r} lacks or misspells base metric {exc}") from None
    iss = 1 - (1 - weights["C"]) * (1 - weights["I"]) * (1 - weights["A"])
    changed = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    impact = 6.42 * iss if scope == "U" else changed
    exploitability = 8.22 * weights["AV"] * weights["AC"] * privileges * weights["UI"]
    if impact <= 0:
        return 0.0
    roundup = _roundup_31 if version == "3.1" else _roundup_30
    total = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    return roundup(min(total, 10.0))


def _score_v2(metrics: dict[str, str], vector: str) -> float:
    try:
        w = {key: _V2_WEIGHTS[key][metrics[key]] for key in _V2_WEIGHTS}
    except KeyError as exc:
        raise CvssError(f"CVSS v2 vector {vector!r} lacks or misspells metric {exc}") from None
    impact = 10.41 * (1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"]))
    exploitability = 20 * w["AV"] * w["AC"] * w["Au"]
    factor = 0.0 if impact == 0 else 1.176
    raw = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * factor
    return float(Decimal(str(raw)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def score_vector(vector: str) -> CvssScore:
    """Compute the base score of a CVSS v2, v3.0 or v3.1 vector; :class:`CvssError` otherwise."""
    text = vector.strip()
    if text.startswith("CVSS:3.0/") or text.startswith("CVSS:3.1/"):
        version = text[5:8]
        score = _score_v3(version, _metrics(text.split("/")[1:], vector), vector)
        return CvssScore(version, score, rating(score, version))
    if text.startswith("CVSS:4.0/"):
        try:
            result = CVSS4(text)
        except CVSSError as exc:
            raise CvssError(f"malformed CVSS v4.0 vector {vector!r}: {exc}") from exc
        score = float(result.base_score)
        return CvssScore("4.0", score, rating(score))
    if text.startswith("AV:") or text.startswith("(AV:"):
        score = _score_v2(_metrics(text.strip("()").split("/"), vector), vector)
        return CvssScore("2.0", score, rating(score, "2.0"))
    raise CvssError(f"unrecognised CVSS vector {vector!r}")
