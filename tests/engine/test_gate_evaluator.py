"""The engine's gate evaluator: runs gates via bastion.scanners, blocks on anything unjudgeable."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bastion.engine.gate_evaluator import PolicyGateEvaluator
from bastion.engine.model import RunContext, Trust
from bastion.policy import PolicyEngine, RegoModule
from bastion.sandbox import SandboxSpec, UnsafeHostRunner, bastion_runtime_binds

CTX = RunContext(repo="demo", commit="abc", ref="refs/heads/main", event="push", trust=Trust.LOCAL)
SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "t"}},
            "results": [{"ruleId": "R", "level": "error", "message": {"text": "bad"}}],
        }
    ],
}


def _run(evaluator: PolicyGateEvaluator, workspace: Path, options: dict[str, object]) -> bytes:
    path = evaluator.report_path("sarif")
    spec = SandboxSpec(argv=evaluator.command("sarif", options, path), workspace=workspace)
    UnsafeHostRunner().run(spec, lambda _chunk: None)
    return (workspace / path).read_bytes()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "scan.sarif").write_text(json.dumps(SARIF))
    return tmp_path


def test_runs_gate_and_blocks_on_high(project: Path) -> None:
    evaluator = PolicyGateEvaluator.for_project(project)
    report = _run(evaluator, project, {"command": 'cp scan.sarif "$BASTION_SARIF"'})
    verdict = evaluator.evaluate("scan", "sarif", report, CTX)
    assert not verdict.passed
    assert "1 new critical or high finding" in verdict.reasons[0]
    assert verdict.to_summary()["by_severity"] == {"high": 1}


def test_suppressed_finding_passes(project: Path) -> None:
    evaluator = PolicyGateEvaluator.for_project(project)
    report = _run(evaluator, project, {"command": 'cp scan.sarif "$BASTION_SARIF"'})
    fingerprint = json.loads(report)["findings"][0]["fingerprint"]
    (project / ".bastion").mkdir()
    (project / ".bastion" / "suppressions.yml").write_text(
        f"suppressions:\n  - fingerprint: {fingerprint}\n    owner: o\n    reason: r\n"
        "    expires: 2999-01-01\n"
    )
    verdict = PolicyGateEvaluator.for_project(project).evaluate("scan", "sarif", report, CTX)
    assert verdict.passed
    assert verdict.to_summary()["suppressed"] == 1


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (None, "wrote no report"),
        (b"{oops", "unreadable gate report"),
        (b'{"format": "x"}', "not a Bastion gate report"),
    ],
)
def test_unjudgeable_reports_block(report: bytes | None, expected: str) -> None:
    verdict = PolicyGateEvaluator(PolicyEngine.load(None)).evaluate("scan", "sarif", report, CTX)
    assert not verdict.passed
    assert expected in verdict.reasons[0]


def test_gate_usage_error_blocks(project: Path) -> None:
    evaluator = PolicyGateEvaluator(PolicyEngine.load(None))
    report = _run(evaluator, project, {"comand": "typo"})
    verdict = evaluator.evaluate("scan", "sarif", report, CTX)
    assert not verdict.passed
    assert "unknown option 'comand'" in verdict.reasons[0]


def test_policy_error_blocks_instead_of_raising(project: Path) -> None:
    broken = RegoModule(
        "p.rego",
        "package bastion.gate\nimport rego.v1\n"
        'deny contains concat(",", input.gates.sarif.facts.tools[0]) if true\n',
    )
    evaluator = PolicyGateEvaluator(
        PolicyEngine.from_modules([broken], replace_default=True), today=dt.date(2026, 1, 1)
    )
    report = _run(evaluator, project, {"command": 'cp scan.sarif "$BASTION_SARIF"; echo'})
    doc = json.loads(report)
    doc["facts"]["tools"] = [5]
    verdict = evaluator.evaluate("scan", "sarif", json.dumps(doc).encode(), CTX)
    assert not verdict.passed
    assert verdict.reasons[0].startswith("policy could not decide")


def test_binds_include_runtime() -> None:
    binds = PolicyGateEvaluator(PolicyEngine.load(None)).binds("sarif")
    assert {str(p) for p in bastion_runtime_binds()} <= set(binds)


def test_the_verdict_carries_the_cpu_the_sandboxed_gate_used(project: Path) -> None:
    evaluator = PolicyGateEvaluator(PolicyEngine.load(None))
    report = _run(evaluator, project, {"command": 'cp scan.sarif "$BASTION_SARIF"'})
    verdict = evaluator.evaluate("scan", "sarif", report, CTX)
    assert verdict.cpu_seconds is not None
    assert verdict.cpu_seconds == json.loads(report)["cpu_seconds"]
    assert "cpu_seconds" not in verdict.to_summary()  # recorded summaries stay run-independent
