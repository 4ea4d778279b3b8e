"""Real Bandit and Semgrep on examples/vulnerable-service: every planted flaw is reported.

Integration: installs the tool environments on first use (from the pinned, hashed sets)
into ``$BASTION_HOME`` and runs them for real. Fails, never skips, when they cannot install.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.scanners.interface import ScanRequest
from bastion.scanners.sast import SastGate

from .sast_expected import EXAMPLE, expected_rows, planted_markers


def test_every_planted_marker_is_in_the_table() -> None:
    rows = expected_rows()
    assert {row.gate for row in rows} >= {"sast", "iac"}
    texts = {row.anchor for row in rows} | {row.flaw for row in rows}
    # Files holding code and IaC flaws: each of their planted comments has a row.
    files = {row.path for row in rows if row.gate in {"sast", "iac"}}
    missing = [m for m in planted_markers() if m[0] in files and m[1] not in texts]
    assert missing == []


def test_every_sast_row_anchors_on_a_planted_line() -> None:
    markers = planted_markers()
    for row in expected_rows():
        if row.gate == "sast":
            assert (row.path, row.anchor) in markers, row


@pytest.mark.integration
@pytest.mark.slow
def test_real_tools_report_every_planted_flaw() -> None:
    gate = SastGate()
    gate.prepare()
    report = gate.scan(ScanRequest(EXAMPLE))
    found = {(f.location.path, f.location.line, f.rule_id) for f in report.findings}
    markers = planted_markers()
    missing = [
        row
        for row in expected_rows()
        if row.gate == "sast" and (row.path, markers[(row.path, row.anchor)], row.rule) not in found
    ]
    assert missing == []
    assert all(f.cwe and f.fix for f in report.findings if f.properties["tool"] == "semgrep")
    # Bandit corroborates the flaws it also sees instead of doubling them.
    assert any(f.properties.get("corroborated_by") for f in report.findings)
    assert report.notes == ()


@pytest.mark.integration
@pytest.mark.slow
def test_scanned_tree_cannot_shadow_the_tools_modules(tmp_path: Path) -> None:
    # A hostile repository ships modules named like the standard library's.
    for name in ("types.py", "json.py", "enum.py"):
        (tmp_path / name).write_text("raise SystemExit('hijacked')\n")
    (tmp_path / "app.py").write_text("def run(x):\n    return eval(x)\n")
    gate = SastGate()
    gate.prepare()
    report = gate.scan(ScanRequest(tmp_path))
    assert [(f.location.path, f.rule_id) for f in report.findings] == [
        ("app.py", "py-eval-dynamic")
    ]
