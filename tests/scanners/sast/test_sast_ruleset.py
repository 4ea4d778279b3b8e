"""Bastion's shipped Semgrep rules are complete: CWE, severity, fix, Bandit cross-references."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastion.scanners.finding import Severity
from bastion.scanners.sast.ruleset import bandit_fixes, rules_dir, shipped_rules
from bastion.scanners.tools import Tool, ToolEnvironment, ensure_installed, run_tool


def _raw_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in sorted(rules_dir().glob("*.yml")):
        rules.extend(yaml.safe_load(path.read_text())["rules"])
    return rules


def test_there_are_enough_rules_with_unique_ids() -> None:
    ids = [rule.rule_id for rule in shipped_rules()]
    assert len(ids) >= 15
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", _raw_rules(), ids=lambda rule: str(rule["id"]))
def test_every_rule_is_documented(rule: dict[str, Any]) -> None:
    metadata = rule["metadata"]
    assert all(re.match(r"CWE-\d+: ", cwe) for cwe in metadata["cwe"])
    assert Severity.parse(metadata["bastion-severity"])
    assert len(metadata["fix"]) > 20
    assert all(re.fullmatch(r"B\d{3}", test_id) for test_id in metadata["bandit"])
    assert rule["severity"] in {"ERROR", "WARNING", "INFO"}
    assert "." not in rule["id"]  # ids are reported unrewritten; dots would read as paths


def test_bandit_tests_map_to_rule_fixes() -> None:
    fixes = bandit_fixes()
    assert "argument list" in fixes["B602"]
    assert "safe_load" in fixes["B506"]


_RULE_TESTS = Path(__file__).parents[2] / "data" / "sast" / "rule-tests"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(
    ("rules", "cases"),
    [
        ("python.yml", "python.py"),
        ("python-web.yml", "python-web.py"),
        ("dockerfile.yml", "dockerfile.dockerfile"),
        ("kubernetes.yml", "kubernetes.yaml"),
    ],
)
def test_rules_pass_their_annotated_cases(rules: str, cases: str, tmp_path: Path) -> None:
    # Every `ruleid:` line matches, every `ok:` line does not (semgrep's own rule tests).
    env = ToolEnvironment.for_tool(Tool.SEMGREP)
    ensure_installed(env)
    argv = [str(env.executable()), "--test", "--metrics=off", "--disable-version-check"]
    argv += ["--config", str(rules_dir() / rules), str(_RULE_TESTS / cases)]
    run = run_tool(argv, cwd=tmp_path, timeout=300, label="semgrep --test", home=tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr


def test_every_rule_file_has_annotated_cases() -> None:
    shipped = {path.stem for path in rules_dir().glob("*.yml")}
    covered = {path.stem for path in _RULE_TESTS.iterdir()}
    assert shipped <= covered
    annotated = "".join(path.read_text() for path in _RULE_TESTS.iterdir())
    assert all(
        f"ruleid: {rule.rule_id}" in annotated or f", {rule.rule_id}" in annotated
        for rule in shipped_rules()
    )
