"""Semgrep's JSON to Findings, offline arguments, and what fails the gate closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.errors import GateError, UsageError
from bastion.scanners.finding import Severity
from bastion.scanners.sast.semgrep import parse_semgrep_output, repository_rules, semgrep_argv
from bastion.scanners.tools import ToolRun

DATA = Path(__file__).parents[2] / "data" / "sast"


def _run(stdout: str, code: int = 0, stderr: str = "") -> ToolRun:
    return ToolRun("Semgrep", code, stdout, stderr, 0.1)


def test_output_becomes_findings() -> None:
    text = (DATA / "semgrep-output.json").read_text()
    findings, notes, scanned = parse_semgrep_output(_run(text), DATA / "project")
    assert (notes, scanned) == ([], 1)
    by_rule = {f.rule_id: f for f in findings}
    assert set(by_rule) == {"py-subprocess-shell", "py-weak-hash", "py-eval-dynamic"}
    evaluation = by_rule["py-eval-dynamic"]
    assert evaluation.severity is Severity.CRITICAL
    assert evaluation.cwe == ("CWE-95",)
    assert evaluation.location.line == 13
    assert evaluation.fix is not None
    assert "literal_eval" in evaluation.fix
    assert evaluation.properties["bandit_equivalents"] == ["B307", "B102"]


def test_level_is_used_without_bastion_severity(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    result = {
        "check_id": "team.rule",
        "path": "a.py",
        "start": {"line": 1, "col": 1},
        "end": {"line": 1, "col": 5},
        "extra": {"message": "m", "severity": "INFO", "metadata": {"cwe": "CWE-20: x"}},
    }
    data = json.dumps({"results": [result], "errors": [], "paths": {"scanned": ["a.py"]}})
    [finding], _, _ = parse_semgrep_output(_run(data), tmp_path)
    assert finding.severity is Severity.LOW
    assert finding.cwe == ("CWE-20",)
    assert finding.fix is None


def test_per_file_errors_are_notes_and_rule_errors_fail(tmp_path: Path) -> None:
    file_error = {"level": "warn", "type": "Syntax error", "message": "bad", "path": "b.py"}
    data = json.dumps({"results": [], "errors": [file_error], "paths": {"scanned": []}})
    _, notes, _ = parse_semgrep_output(_run(data), tmp_path)
    assert notes == ["semgrep could not fully analyse b.py: bad"]
    rule_error = {"level": "error", "type": "InvalidRuleSchemaError", "message": "bad rule"}
    data = json.dumps({"results": [], "errors": [rule_error]})
    with pytest.raises(GateError, match="bad rule"):
        parse_semgrep_output(_run(data, code=7), tmp_path)


def test_crash_without_json_fails_closed_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(GateError, match=r"(?s)Semgrep crashed \(exit 2\).*Fatal error: oom"):
        parse_semgrep_output(_run("", code=2, stderr="Fatal error: oom"), tmp_path)


def test_argv_is_offline_and_scans_test_folders(tmp_path: Path) -> None:
    argv = semgrep_argv(Path("/env/bin/semgrep"), [tmp_path], (".git",), jobs=2)
    assert "--metrics=off" in argv
    assert "--disable-version-check" in argv
    assert "--x-ignore-semgrepignore-files" in argv
    assert argv[argv.index("--config") + 1] == str(tmp_path)
    assert "auto" not in argv


@pytest.mark.parametrize("entry", ["auto", "p/python", "r/python.lang", "https://x.example/r.yml"])
def test_registry_rule_sources_are_refused(tmp_path: Path, entry: str) -> None:
    with pytest.raises(UsageError, match="offline"):
        repository_rules("sast", tmp_path, [entry])


def test_repository_rules_must_exist_inside_the_tree(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    assert repository_rules("sast", tmp_path, ["rules"]) == [(tmp_path / "rules").resolve()]
    for entry in ("missing", "../outside"):
        with pytest.raises(UsageError, match="does not exist inside"):
            repository_rules("sast", tmp_path, [entry])
