"""Findings of a run as people read them: one line each, worst first, low and info counted.

Used under ``bastion run``'s table when a gate blocked the run and by ``bastion runs show
ID --findings``. Low and info findings are counted and listed only when asked (``--all``,
``-v``); the JSON forms always hold every finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console

from bastion.engine import GateVerdict, JobState, JudgedFinding, finding_order

__all__ = [
    "BLOCKING_LIMIT",
    "blocking_findings",
    "finding_row",
    "render_blocking",
    "render_findings",
]

BLOCKING_LIMIT = 20
"""Findings listed under a blocked run's table; the rest are one command away."""


def finding_row(job: str, finding: JudgedFinding) -> str:
    """``HIGH  sast/B602  app.py:3  message  fingerprint …`` (the job when not the gate)."""
    rule = f"{finding.gate}/{finding.rule_id}"
    if job != finding.gate:
        rule = f"{job}: {rule}"
    row = (
        f"{finding.severity.upper():8} {rule}  {finding.where}  {finding.message}  "
        f"fingerprint {finding.fingerprint}"
    )
    if finding.suppressed:
        row += f"  (suppressed {finding.suppressed_by or ''})".rstrip()
    return row


def blocking_findings(
    jobs: Mapping[str, JobState], verdicts: Mapping[str, GateVerdict]
) -> list[tuple[str, JudgedFinding]]:
    """(job, finding): the unsuppressed findings of every gate job that blocked, worst first."""
    found = [
        (job, finding)
        for job, verdict in verdicts.items()
        if jobs.get(job) is JobState.BLOCKED
        for finding in verdict.judged
        if not finding.suppressed
    ]
    return sorted(found, key=lambda pair: finding_order(pair[1]))


def _split(
    found: Sequence[tuple[str, JudgedFinding]], show_all: bool
) -> tuple[list[tuple[str, JudgedFinding]], int]:
    """What to list, and how many low/info findings were left out."""
    listed = [pair for pair in found if show_all or pair[1].shown_by_default]
    return listed, len(found) - len(listed)


def render_blocking(
    console: Console,
    run_id: int,
    found: Sequence[tuple[str, JudgedFinding]],
    *,
    show_all: bool = False,
    limit: int = BLOCKING_LIMIT,
) -> None:
    """Under a blocked run's table: the findings that blocked it, the first ``limit``."""
    if not found:
        return
    listed, quiet = _split(found, show_all)
    console.print(f"findings that blocked run {run_id}:", highlight=False, markup=False)
    for job, finding in listed[:limit]:
        console.print(f"  {finding_row(job, finding)}", highlight=False, markup=False)
    more = len(listed) - limit
    if more > 0:
        console.print(
            f"  and {more} more: bastion runs show {run_id} --findings",
            highlight=False,
            markup=False,
        )
    if quiet:
        console.print(
            f"  {quiet} low/info finding(s) not listed: bastion runs show {run_id} --findings"
            " --all",
            highlight=False,
            markup=False,
        )


def render_findings(
    console: Console,
    run_id: int,
    found: Sequence[tuple[str, JudgedFinding]],
    *,
    show_all: bool = False,
) -> None:
    """Every finding of a run (low and info only with ``show_all``), then the counts."""
    listed, quiet = _split(found, show_all)
    for job, finding in listed:
        console.print(finding_row(job, finding), highlight=False, markup=False)
    counts: dict[str, int] = {}
    for _, finding in found:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    breakdown = ", ".join(f"{n} {severity}" for severity, n in counts.items())
    suppressed = sum(1 for _, f in found if f.suppressed)
    summary = f"run {run_id}: {len(found)} finding(s)"
    summary += f" ({breakdown}); {suppressed} suppressed" if found else ""
    if quiet:
        summary += f"; {quiet} low/info not listed (--all lists them)"
    console.print(summary, highlight=False, markup=False)
