"""How a run's findings are listed: worst first, 20 under a blocked run, low and info counted."""

from __future__ import annotations

from rich.console import Console

from bastion.cli.findings_view import blocking_findings, render_blocking, render_findings
from bastion.engine import FindingCounts, GateVerdict, JobState, JudgedFinding


def _finding(index: int, severity: str = "high", suppressed_by: str | None = None) -> JudgedFinding:
    return JudgedFinding(
        "sast",
        f"R{index}",
        severity,
        "app.py",
        index,
        f"message {index}",
        f"fp{index:04}",
        suppressed=suppressed_by is not None,
        suppressed_by=suppressed_by,
    )


def _text(render: object, *args: object, **kwargs: object) -> str:
    console = Console(record=True, width=300)
    render(console, *args, **kwargs)  # type: ignore[operator]
    return console.export_text()


def test_a_blocked_run_lists_the_first_20_then_points_at_the_rest() -> None:
    found = [("sast", _finding(i)) for i in range(1, 26)]
    text = _text(render_blocking, 7, found)
    assert "findings that blocked run 7:" in text
    assert "HIGH     sast/R1  app.py:1  message 1  fingerprint fp0001" in text
    assert "fp0020" in text
    assert "fp0021" not in text
    assert "and 5 more: bastion runs show 7 --findings" in text


def test_low_and_info_are_counted_and_listed_only_when_asked() -> None:
    found = [("sast", _finding(1)), ("sast", _finding(2, "low")), ("sast", _finding(3, "info"))]
    quiet = _text(render_blocking, 7, found)
    assert "fp0001" in quiet
    assert "fp0002" not in quiet
    assert "fp0003" not in quiet
    assert "2 low/info finding(s) not listed: bastion runs show 7 --findings --all" in quiet
    every = _text(render_blocking, 7, found, show_all=True)
    assert "fp0002" in every
    assert "fp0003" in every
    listed = _text(render_findings, 7, found)
    assert "fp0002" not in listed
    assert "run 7: 3 finding(s) (1 high, 1 low, 1 info); 0 suppressed" in listed
    assert "2 low/info not listed (--all lists them)" in listed


def test_only_unsuppressed_findings_of_blocked_gates_blocked_the_run() -> None:
    counts = FindingCounts(2, suppressed=1)
    suppressed = _finding(2, "critical", suppressed_by="by alice")
    verdicts = {
        "sast": GateVerdict(False, ("x",), counts, judged=(_finding(1), suppressed)),
        "secrets": GateVerdict(True, (), FindingCounts(1), judged=(_finding(3),)),
    }
    jobs = {"sast": JobState.BLOCKED, "secrets": JobState.PASSED}
    assert blocking_findings(jobs, verdicts) == [("sast", _finding(1))]
