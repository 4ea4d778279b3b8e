"""Checkov's JSON to Findings: every report shape, severity table, crash handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.errors import GateError
from bastion.scanners.finding import Severity
from bastion.scanners.iac.checkov import checkov_argv, parse_checkov_output
from bastion.scanners.iac.severity import CHECKS, check_info
from bastion.scanners.tools import ToolRun

DATA = Path(__file__).parents[2] / "data" / "iac"
PROJECT = DATA / "project"


def _run(stdout: str, code: int = 1, stderr: str = "") -> ToolRun:
    return ToolRun("Checkov", code, stdout, stderr, 0.1)


def test_report_list_becomes_findings() -> None:
    text = (DATA / "checkov-output.json").read_text()
    findings, notes, resources = parse_checkov_output(_run(text), PROJECT)
    assert notes == []
    assert resources == 2
    by_rule = {f.rule_id: f for f in findings}
    assert set(by_rule) == {"CKV_DOCKER_3", "CKV_AWS_24", "CKV_AWS_23", "CKV2_AWS_5"}
    ssh = by_rule["CKV_AWS_24"]
    assert ssh.severity is Severity.CRITICAL
    assert ssh.cwe == ("CWE-284",)
    assert (ssh.location.path, ssh.location.line, ssh.location.end_line) == ("main.tf", 1, 9)
    assert ssh.properties["resource"] == "aws_security_group.ssh"
    assert ssh.fix is not None
    assert "SSH" in ssh.fix
    # Unknown to the table: falls back to the check's own wording as the fix.
    assert by_rule["CKV_AWS_23"].fix == by_rule["CKV_AWS_23"].title


def test_single_report_and_bare_summary_shapes() -> None:
    reports = json.loads((DATA / "checkov-output.json").read_text())
    findings, _, _ = parse_checkov_output(_run(json.dumps(reports[0])), PROJECT)
    assert [f.rule_id for f in findings] == ["CKV_DOCKER_3"]
    summary = {"passed": 0, "failed": 0, "resource_count": 0, "checkov_version": "3.3.30"}
    assert parse_checkov_output(_run(json.dumps(summary), code=0), PROJECT) == ([], [], 0)


def test_parsing_errors_become_notes() -> None:
    report = {
        "check_type": "terraform",
        "results": {"failed_checks": [], "parsing_errors": ["/broken.tf"]},
        "summary": {"resource_count": 0},
    }
    _, notes, _ = parse_checkov_output(_run(json.dumps(report), code=0), PROJECT)
    assert notes == ["checkov could not parse broken.tf (terraform)"]


@pytest.mark.parametrize(("code", "stdout"), [(2, ""), (1, "Traceback ..."), (-9, "[")])
def test_crash_fails_closed_with_the_reason(code: int, stdout: str) -> None:
    with pytest.raises(GateError, match=r"(?s)Checkov crashed.*RecursionError"):
        parse_checkov_output(_run(stdout, code, "RecursionError: too deep"), PROJECT)


def test_unreadable_result_fails_closed() -> None:
    report = {"check_type": "terraform", "results": {"failed_checks": [{"oops": 1}]}}
    with pytest.raises(GateError, match="cannot read"):
        parse_checkov_output(_run(json.dumps(report)), PROJECT)


def test_argv_is_offline() -> None:
    argv = checkov_argv(Path("/env/bin/checkov"), ["terraform"], [".terraform"])
    assert "--skip-download" in argv
    assert argv[argv.index("--download-external-modules") + 1] == "false"
    assert argv[argv.index("--skip-path") + 1] == r"(^|/)\.terraform(/|$)"


def test_unknown_checks_are_never_low() -> None:
    assert check_info("CKV_AZURE_999", "Ensure storage is not public").severity is Severity.HIGH
    assert check_info("CKV_GCP_999", "Ensure labels are set").severity is Severity.MEDIUM
    assert all(info.severity in Severity for info in CHECKS.values())
    assert all(cwe.startswith("CWE-") for info in CHECKS.values() for cwe in info.cwe)
