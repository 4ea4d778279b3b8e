"""Bandit's JSON report to Findings: severity matrix, CWE ids, crash handling."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bastion.errors import GateError
from bastion.scanners.finding import Severity
from bastion.scanners.sast.bandit import (
    bandit_argv,
    bandit_severity,
    parse_bandit_report,
    redact,
)
from bastion.scanners.sast.ruleset import bandit_fixes
from bastion.scanners.tools import ToolRun

DATA = Path(__file__).parents[2] / "data" / "sast"
LEVELS = ("HIGH", "MEDIUM", "LOW")


def _run(code: int = 1, stderr: str = "") -> ToolRun:
    return ToolRun("Bandit", code, "", stderr, 0.1)


@pytest.mark.parametrize("severity", LEVELS)
@pytest.mark.parametrize("confidence", LEVELS)
def test_severity_matrix_is_total_and_monotonic(severity: str, confidence: str) -> None:
    mapped = bandit_severity(severity, confidence)
    assert mapped.rank <= bandit_severity(severity, "HIGH").rank
    assert mapped.rank <= bandit_severity("HIGH", confidence).rank


def test_undefined_levels_are_info() -> None:
    assert bandit_severity("UNDEFINED", "HIGH") is Severity.INFO


def test_report_becomes_findings_with_cwe_and_fix() -> None:
    root = DATA / "project"
    findings, notes = parse_bandit_report(
        _run(), DATA / "bandit-report.json", root, skip=frozenset({"B404"}), fixes=bandit_fixes()
    )
    assert notes == []
    by_rule = {f.rule_id: f for f in findings}
    assert set(by_rule) == {"B602", "B324", "B307"}
    shell = by_rule["B602"]
    assert shell.cwe == ("CWE-78",)
    assert shell.severity is Severity.HIGH
    assert str(shell.location) == "handler.py:8"
    assert shell.fix is not None
    assert "argument list" in shell.fix
    assert shell.properties["tool"] == "bandit"
    # The match key is the flagged line, so the fingerprint survives moving the code.
    assert shell.fingerprint != by_rule["B324"].fingerprint


@pytest.mark.parametrize("code", [2, -9, 127])
def test_unexpected_exit_fails_closed_with_the_reason(code: int) -> None:
    with pytest.raises(GateError, match=r"(?s)Bandit crashed .*ImportError: stevedore"):
        parse_bandit_report(
            _run(code, "Traceback (most recent call last):\nImportError: stevedore"),
            DATA / "bandit-report.json",
            DATA / "project",
            skip=frozenset(),
            fixes={},
        )


def test_missing_or_garbled_report_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="no readable report"):
        parse_bandit_report(_run(0), tmp_path / "none.json", tmp_path, skip=frozenset(), fixes={})
    (tmp_path / "r.json").write_text('{"results": 3}')
    with pytest.raises(GateError, match="no results list"):
        parse_bandit_report(_run(0), tmp_path / "r.json", tmp_path, skip=frozenset(), fixes={})
    (tmp_path / "r.json").write_text('{"results": [{"filename": "x.py"}]}')
    with pytest.raises(GateError, match="cannot read"):
        parse_bandit_report(_run(1), tmp_path / "r.json", tmp_path, skip=frozenset(), fixes={})


def test_unparsable_files_become_notes(tmp_path: Path) -> None:
    shutil.copy(DATA / "project" / "handler.py", tmp_path / "handler.py")
    report = tmp_path / "r.json"
    report.write_text(
        '{"results": [], "errors": [{"filename": "./py2.py", "reason": "syntax error"}]}'
    )
    findings, notes = parse_bandit_report(_run(0), report, tmp_path, skip=frozenset(), fixes={})
    assert findings == []
    assert notes == ["bandit could not analyse py2.py: syntax error"]


def test_argv_excludes_directories(tmp_path: Path) -> None:
    argv = bandit_argv(Path("/env/bin/bandit"), tmp_path / "r.json", (".venv",))
    assert argv[:3] == ["/env/bin/bandit", "-r", "."]
    assert argv[argv.index("-x") + 1] == "*/.venv/*,./.venv"
    assert argv[argv.index("-f") + 1] == "json"


@pytest.mark.parametrize("test_id", ["B105", "B106", "B107"])
def test_hard_coded_secret_values_are_never_repeated(test_id: str) -> None:
    text = redact(test_id, "Possible hardcoded password: 'hunter2-s3cret'")
    assert "hunter2" not in text
    assert text == "Possible hardcoded password: <value withheld>"


def test_other_messages_are_kept() -> None:
    message = "Use of possibly insecure function 'eval'"
    assert redact("B307", message) == message
