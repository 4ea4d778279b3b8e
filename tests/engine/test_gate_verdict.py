"""GateVerdict: typed counts and notes, stored in the summary shape records always had."""

from __future__ import annotations

import pytest

from bastion.engine.model import FindingCounts, GateVerdict


def test_failed_closed_verdict_has_an_empty_summary_and_no_count() -> None:
    verdict = GateVerdict(False, ("wrote no report",))
    assert verdict.to_summary() == {}
    assert verdict.findings is None


def test_summary_keeps_todays_keys_and_order() -> None:
    verdict = GateVerdict(
        False,
        ("1 high finding",),
        FindingCounts(3, new=1, suppressed=2, by_severity={"high": 1, "low": 2}),
        warnings=("expires soon",),
        notes=("baseline applied",),
        gate_notes=("OSV data of 2024-05-01",),
        cpu_seconds=1.5,
    )
    summary = verdict.to_summary()
    assert list(summary) == [
        "findings",
        "new",
        "suppressed",
        "by_severity",
        "warnings",
        "notes",
        "gate_notes",
    ]
    assert summary["by_severity"] == {"high": 1, "low": 2}
    assert summary["gate_notes"] == ["OSV data of 2024-05-01"]
    assert verdict.findings == 3


def test_items_appear_only_when_listed() -> None:
    item = {"fingerprint": "f", "severity": "high"}
    listed = GateVerdict(True, (), FindingCounts(1), items=(item,))
    assert listed.to_summary()["items"] == [item]
    assert "items" not in GateVerdict(True, (), FindingCounts()).to_summary()


def test_notes_without_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="counted"):
        GateVerdict(False, (), notes=("x",))


@pytest.mark.parametrize(("total", "new", "suppressed"), [(-1, 0, 0), (1, 2, 0), (1, 0, 2)])
def test_inconsistent_counts_are_refused(total: int, new: int, suppressed: int) -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        FindingCounts(total, new, suppressed)
