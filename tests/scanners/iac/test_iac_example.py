"""Real Checkov, offline, on examples/vulnerable-service: every planted IaC flaw is reported."""

from __future__ import annotations

import pytest

from bastion.scanners.iac import IacGate
from bastion.scanners.interface import ScanRequest
from tests.scanners.sast.sast_expected import EXAMPLE, expected_rows


@pytest.mark.integration
@pytest.mark.slow
def test_real_checkov_reports_every_planted_flaw() -> None:
    gate = IacGate()
    gate.prepare()
    report = gate.scan(ScanRequest(EXAMPLE))
    found = {(f.location.path, f.rule_id, f.properties["resource"]) for f in report.findings}
    rows = [(row.path, row.rule, row.anchor) for row in expected_rows() if row.gate == "iac"]
    assert len(rows) >= 15
    assert [row for row in rows if row not in found] == []
    assert report.facts["resources_checked"] > 0
    assert {"terraform", "kubernetes", "dockerfile"} <= {
        f.properties["framework"] for f in report.findings
    }
