"""What a gate job's log ends with: its verdict, what the gate said, and its findings.

A gate job's sandboxed runner writes little (notices only), so without this ``bastion logs
ID sast`` printed nothing for a gate that blocked the run. The recorder appends these lines
to the job's log when the job ends (issue 23).

    >>> from bastion.engine.model import GateVerdict
    >>> gate_log_lines(GateVerdict(False, ("wrote no report",)))[0]
    '── verdict: blocked ──'
"""

from __future__ import annotations

from collections import Counter

from bastion.engine.model import GateVerdict
from bastion.engine.run_findings import JudgedFinding, worst_first

__all__ = ["LOG_FINDINGS_LIMIT", "finding_line", "gate_log_lines"]

LOG_FINDINGS_LIMIT = 200
"""Findings listed in a log; the rest are counted (the run record has every one)."""


def finding_line(finding: JudgedFinding) -> str:
    """``HIGH gate/rule at path:line: message [fingerprint …]`` (and who suppressed it)."""
    line = (
        f"{finding.severity.upper()} {finding.gate}/{finding.rule_id} at {finding.where}: "
        f"{finding.message} [fingerprint {finding.fingerprint}]"
    )
    if finding.suppressed:
        line += f" (suppressed {finding.suppressed_by or ''})".rstrip()
    return line


def gate_log_lines(verdict: GateVerdict) -> list[str]:
    """The verdict, its reasons and notes, a count by severity, then the findings."""
    lines = [f"── verdict: {'passed' if verdict.passed else 'blocked'} ──"]
    lines += [f"reason: {reason}" for reason in verdict.reasons]
    lines += [f"warning: {warning}" for warning in verdict.warnings]
    lines += [f"gate: {note}" for note in verdict.gate_notes]
    if verdict.counts is None:
        lines.append("no findings were judged (the gate could not report)")
        return lines
    judged = worst_first(verdict.judged)
    by_severity = Counter(f.severity for f in judged)
    counted = ", ".join(f"{n} {s}" for s, n in by_severity.items())
    counts = verdict.counts
    lines.append(
        f"{counts.total} finding(s)"
        + (f" ({counted})" if counted else "")
        + f"; {counts.new} new, {counts.suppressed} suppressed"
    )
    lines += [finding_line(f) for f in judged[:LOG_FINDINGS_LIMIT]]
    if len(judged) > LOG_FINDINGS_LIMIT:
        lines.append(f"…and {len(judged) - LOG_FINDINGS_LIMIT} more in the run record")
    return lines
