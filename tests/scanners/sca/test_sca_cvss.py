"""CVSS base scores from vectors, checked against the specification's and NVD's values."""

from __future__ import annotations

import cvss  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.scanners.sca.cvss import CvssError, rating, score_vector


@pytest.mark.parametrize(
    ("vector", "score", "label"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "critical"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "medium"),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, "critical"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "high"),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9, "medium"),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, "low"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "none"),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "high"),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "medium"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, "high"),
        ("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, "medium"),
        ("(AV:L/AC:H/Au:N/C:N/I:N/A:P)", 1.2, "low"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "critical"),
        ("CVSS:4.0/AV:N/AC:H/AT:P/PR:H/UI:P/VC:N/VI:L/VA:L/SC:N/SI:N/SA:N", 2.0, "low"),
    ],
)
def test_known_vectors(vector: str, score: float, label: str) -> None:
    result = score_vector(vector)
    assert (result.score, result.rating) == (score, label)


@pytest.mark.parametrize(
    "vector",
    [
        "CVSS:4.0/AV:N/AC:L",
        "CVSS:5.0/AV:N",
        "CVSS:3.1/AV:N/AC:L",
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AVN",
        "AV:N/AC:L",
        "not a vector",
    ],
)
def test_refuses_what_it_cannot_score(vector: str) -> None:
    with pytest.raises(CvssError):
        score_vector(vector)


def test_rating_bands() -> None:
    assert [rating(s) for s in (0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        "critical",
    ]
    assert rating(7.0, "2.0") == "high"


_V3_METRICS = {
    "AV": "NALP",
    "AC": "LH",
    "PR": "NLH",
    "UI": "NR",
    "S": "UC",
    "C": "HLN",
    "I": "HLN",
    "A": "HLN",
}


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["3.0", "3.1"]),
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _V3_METRICS.items()}),
)
def test_v3_agrees_with_the_cvss_library(version: str, metrics: dict[str, str]) -> None:
    vector = f"CVSS:{version}/" + "/".join(f"{k}:{v}" for k, v in metrics.items())
    assert score_vector(vector).score == float(cvss.CVSS3(vector).base_score)
