"""``bastion scan`` reports (issue 23): JSON format version, SARIF runs that say whether
their gate decided, and a policy summary that names every place, not one place repeated."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import typer
from rich.console import Console
from typer.testing import CliRunner

from bastion import __version__
from bastion.cli.scan import JSON_FORMAT, register, render_decision
from bastion.engine.gates import AssessedFinding, GateDecision, GateOutcome
from bastion.policy.model import Decision, Reason
from bastion.scanners.finding import Finding, Location, Severity

SCHEMA = Path(__file__).parents[1] / "data" / "sarif" / "sarif-schema-2.1.0.json"
_RESULT = {
    "ruleId": "R-eval",
    "level": "error",
    "message": {"text": "eval"},
    "locations": [
        {"physicalLocation": {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": 1}}}
    ],
}


def _scan(root: Path, command: str, *args: str) -> int:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test root so `scan` stays a subcommand."""

    register(app)
    argv = ["scan", str(root), "-g", "sarif", "--unsafe-no-sandbox", "--option", command, *args]
    return CliRunner().invoke(app, argv).exit_code


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "app.py").write_text("eval(input())\n")
    doc = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [_RESULT]}]}
    (root / "scan.sarif").write_text(json.dumps(doc))
    return root


def test_json_report_names_its_format(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    _scan(_tree(tmp_path), 'sarif.command=cp scan.sarif "$BASTION_SARIF"', "--json", "-o", str(out))
    doc = json.loads(out.read_text())
    assert doc["format"] == JSON_FORMAT == "bastion-scan/1"
    assert next(iter(doc)) == "format"


def test_sarif_of_a_gate_that_could_not_decide_says_why(tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    code = _scan(_tree(tmp_path), "sarif.command=exit 7", "-f", "sarif", "-o", str(out))
    assert code == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    (run,) = doc["runs"]
    assert run["results"] == []
    assert run["tool"]["driver"]["version"] == __version__
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (notice,) = invocation["toolExecutionNotifications"]
    assert "exit" in notice["message"]["text"]


def test_sarif_of_a_gate_that_decided_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    command = 'sarif.command=cp scan.sarif "$BASTION_SARIF"'
    _scan(_tree(tmp_path), command, "-f", "sarif", "-o", str(out))
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    (run,) = doc["runs"]
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert len(run["results"]) == 1


def _secret(line: int) -> AssessedFinding:
    finding = Finding.create(
        gate="secrets",
        rule_id="aws-key",
        severity=Severity.HIGH,
        message="key",
        location=Location("conf.py", line),
        match_key="AKIA-same-key",
    )
    return AssessedFinding(finding, new=True)


def _decision(count: int) -> GateDecision:
    findings = tuple(_secret(line) for line in range(1, count + 1))
    fingerprints = tuple(a.finding.fingerprint for a in findings)  # one per finding, all equal
    reason = Reason("high finding(s)", fingerprints)
    return GateDecision(Decision(False, (reason,)), findings, (GateOutcome("secrets"),))


def test_the_summary_names_each_place_of_a_shared_fingerprint() -> None:
    console = Console(width=200, record=True)
    render_decision(console, _decision(3))
    text = console.export_text()
    for line in (1, 2, 3):
        assert text.count(f"secrets/aws-key at conf.py:{line}\n") == 1


def test_the_summary_ends_with_and_n_more() -> None:
    console = Console(width=200, record=True)
    render_decision(console, _decision(13))
    text = console.export_text()
    assert text.count("secrets/aws-key at conf.py:") == 10
    assert "…and 3 more" in text
