"""Every rule fires on its vulnerable snippet and stays quiet on the fixed one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.scanners.ciconfig import RULES, ActionAdvisories, scan_ciconfig
from bastion.scanners.finding import Finding
from tests.scanners.ciconfig.cases import CASES

_FILES = {
    "workflow": ".github/workflows/w.yml",
    "action": "act/action.yml",
    "gitlab": ".gitlab-ci.yml",
    "bastion": ".bastion/pipeline.yml",
}


def scan_text(tmp_path: Path, kind: str, text: str) -> list[Finding]:
    """Findings for one file of ``kind`` holding ``text``."""
    target = tmp_path / _FILES[kind]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    findings, files, _ = scan_ciconfig(tmp_path, ActionAdvisories.bundled())
    assert files == [_FILES[kind]]
    return findings


@pytest.mark.parametrize(("rule", "kind", "vulnerable", "fixed"), CASES)
def test_rule_fires_on_vulnerable(
    tmp_path: Path, rule: str, kind: str, vulnerable: str, fixed: str
) -> None:
    found = [f for f in scan_text(tmp_path, kind, vulnerable) if f.rule_id == rule]
    assert found, f"{rule} did not fire on:\n{vulnerable}"
    for finding in found:
        assert finding.location.line is not None
        assert finding.location.column is not None
        assert finding.properties["confidence"] in {"high", "medium", "low"}


@pytest.mark.parametrize(("rule", "kind", "vulnerable", "fixed"), CASES)
def test_rule_quiet_on_fixed(
    tmp_path: Path, rule: str, kind: str, vulnerable: str, fixed: str
) -> None:
    found = [f for f in scan_text(tmp_path, kind, fixed) if f.rule_id == rule]
    assert not found, [f.message for f in found]


def test_every_rule_has_a_case() -> None:
    tested = {case[0] for case in CASES}
    assert set(RULES) - tested == {"invalid-yaml"}  # tested in test_yamlsrc / test_gate
