"""``bastion scan`` and ``bastion run`` start a sandboxed gate with one command (issue 21 §3)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.engine.gate_command import GateCommand, gate_command, gate_environment
from bastion.engine.gate_evaluator import PolicyGateEvaluator
from bastion.engine.gates import run_gate_sandboxed
from bastion.engine.jobspecs import JobSpecFactory
from bastion.engine.model import RunContext, RunId, Trust
from bastion.errors import GateError
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.sandbox import SandboxResult, SandboxSpec

OPTIONS = {"command": 'cp scan.sarif "$BASTION_SARIF"', "timeout": 60}
PIPELINE = """
jobs:
  scan:
    uses: bastion/sarif
    with: {command: 'cp scan.sarif "$BASTION_SARIF"', timeout: 60}
"""


class _Recording:
    """A fake Sandbox that records the spec and fails, so the gate reports nothing."""

    def __init__(self) -> None:
        self.specs: list[SandboxSpec] = []

    def run(
        self,
        spec: SandboxSpec,
        on_output: Callable[[bytes], None],
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        self.specs.append(spec)
        return SandboxResult(1, 0.0)


def _without_report(argv: tuple[str, ...]) -> tuple[str, ...]:
    """``argv`` with the report's (random) name blanked out."""
    at = argv.index("--out") + 1
    return (*argv[:at], "REPORT", *argv[at + 1 :])


def _scan_command(workspace: Path) -> GateCommand:
    sandbox = _Recording()
    with pytest.raises(GateError):
        run_gate_sandboxed(sandbox, "sarif", workspace, OPTIONS)
    (spec,) = sandbox.specs
    return GateCommand(tuple(spec.argv), dict(spec.env))


def _run_argv(tmp_path: Path) -> tuple[str, ...]:
    pipeline = parse_pipeline(PIPELINE, source="bastion.yml").pipeline
    factory = JobSpecFactory(
        run_id=RunId(1),
        plan=plan_pipeline(pipeline, source="bastion.yml"),
        pipeline=pipeline,
        context=RunContext("repo", None, "refs/heads/main", "push", Trust.LOCAL),
        source_path=tmp_path,
        source_commit=None,
        git_prefix="",
        artifact_root=tmp_path / "artifacts",
        gate_evaluator=PolicyGateEvaluator.for_project(tmp_path),
    )
    (step,) = factory.build("scan").steps
    return tuple(step.argv)


def test_scan_and_run_start_a_gate_with_the_same_argv_and_env(tmp_path: Path) -> None:
    scanned = _scan_command(tmp_path)
    assert scanned.env == gate_environment()
    # The run's step pins the same environment before the same argv (see gate_command).
    assert _without_report(_run_argv(tmp_path)) == _without_report(scanned.pinned())


def test_the_command_runs_isolated_python_and_names_its_report() -> None:
    command = gate_command("sca", {"exclude": ["vendor"]}, "r.json", commit="abc")
    assert command.argv[:4] == (sys.executable, "-I", "-m", "bastion.scanners")
    assert command.argv[command.argv.index("--out") + 1] == "r.json"
    assert command.argv[-2:] == ("--commit", "abc")
    assert command.env["LANG"] == "C.UTF-8"
    assert "BASTION_HOME" in command.env
    assert command.pinned()[0] == "/usr/bin/env"
    assert command.pinned()[-len(command.argv) :] == command.argv


def test_a_run_reports_under_a_name_the_tree_cannot_know(tmp_path: Path) -> None:
    first = PolicyGateEvaluator.for_project(tmp_path)
    second = PolicyGateEvaluator.for_project(tmp_path)
    assert first.report_path("sca") == first.report_path("sca")  # stable within a run
    assert first.report_path("sca") != second.report_path("sca")
