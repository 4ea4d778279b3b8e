"""Inline `# nosec` suppressions are shown as suppressed in the table and in SARIF (issue 23)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from bastion.cli.scan import OutputFormat, _write_document, render_table
from bastion.engine.gates import GateDecision, GateOutcome, evaluate_gates
from bastion.policy import PolicyEngine, Suppressions
from bastion.scanners import GateReport
from bastion.scanners.finding import Finding, Location, Severity
from bastion.trust import RunContext, Trust

CONTEXT = RunContext("repo", "c0ffee", "refs/heads/main", "local", Trust.LOCAL)
LINE = 'subprocess.run("make " + name, shell=True)  # nosec B602'
FINDING = Finding.create(
    gate="sast",
    rule_id="py-subprocess-shell",
    severity=Severity.HIGH,
    message="command injection",
    location=Location("app/run.py", 8),
    match_key=LINE,
    properties={"inline_suppression": {"marker": "# nosec B602", "line": LINE}},
)


def _decide(suppressions: Suppressions) -> GateDecision:
    outcome = GateOutcome("sast", GateReport(gate="sast", findings=(FINDING,)))
    return evaluate_gates([outcome], CONTEXT, PolicyEngine.load(), suppressions)


def _sarif_result(decision: GateDecision, tmp_path: Path) -> dict[str, object]:
    handle = io.StringIO()
    _write_document(handle, decision, OutputFormat.SARIF, tmp_path)
    results = [r for run in json.loads(handle.getvalue())["runs"] for r in run["results"]]
    assert len(results) == 1
    result: dict[str, object] = results[0]
    return result


def test_honoured_marker_is_suppressed_in_table_and_sarif(tmp_path: Path) -> None:
    decision = _decide(Suppressions())
    assert decision.decision.allowed
    console = Console(record=True, width=200)
    render_table(console, decision)
    assert "suppressed inline in the source (app/run.py:8)" in console.export_text()
    assert _sarif_result(decision, tmp_path)["suppressions"] == [
        {"kind": "inSource", "status": "accepted", "justification": f"inline: {LINE}"}
    ]


def test_refused_marker_blocks_and_is_not_suppressed(tmp_path: Path) -> None:
    decision = _decide(Suppressions(inline=False))
    assert not decision.decision.allowed
    assert "suppressions" not in _sarif_result(decision, tmp_path)
