"""The bastion/sarif gate: command, SARIF file, and every way it fails closed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bastion.errors import GateError, UsageError
from bastion.scanners.interface import ScanRequest
from bastion.scanners.sarif_gate import SarifGate, SarifGateOptions

SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "demo-tool"}},
            "results": [
                {
                    "ruleId": "D1",
                    "message": {"text": "weak hash"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app.py"},
                                "region": {"startLine": 2},
                            }
                        }
                    ],
                }
            ],
        }
    ],
}


def _scan(root: Path, **options: Any) -> Any:
    return SarifGate().scan(ScanRequest(root=root, options=options))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("import hashlib\nhashlib.md5(data)\n")
    (tmp_path / "out.sarif").write_text(json.dumps(SARIF))
    return tmp_path


def test_reads_what_the_command_writes(tree: Path) -> None:
    report = _scan(tree, command='cp out.sarif "$BASTION_SARIF"')
    (finding,) = report.findings
    assert finding.gate == "sarif"
    assert str(finding.location) == "app.py:2"
    assert report.facts == {"exit_code": 0, "results": 1, "tools": ["demo-tool"]}


def test_custom_path_and_accepted_exit_code(tree: Path) -> None:
    report = _scan(
        tree,
        command='mkdir -p "$BASTION_OUT/x" && cp out.sarif "$BASTION_OUT/x/r.sarif"; exit 1',
        sarif="x/r.sarif",
        exit_codes=[0, 1],
    )
    assert report.facts["exit_code"] == 1
    assert len(report.findings) == 1


def test_command_failure_fails_closed(tree: Path) -> None:
    with pytest.raises(GateError, match="exited with status 1"):
        _scan(tree, command='cp out.sarif "$BASTION_SARIF"; exit 1')


def test_missing_sarif_fails_closed(tree: Path) -> None:
    with pytest.raises(GateError, match="SARIF file was not written"):
        _scan(tree, command="true")


def test_malformed_sarif_fails_closed(tree: Path) -> None:
    with pytest.raises(GateError, match="not valid JSON"):
        _scan(tree, command='echo "{" > "$BASTION_SARIF"')


def test_timeout_fails_closed(tree: Path) -> None:
    with pytest.raises(GateError, match=r"timed out after 0\.5 s"):
        _scan(tree, command="sleep 5", timeout=0.5)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "needs `command`"),
        ({"command": "  "}, "needs `command`"),
        ({"command": "x", "sarif": "/abs.sarif"}, "relative path"),
        ({"command": "x", "sarif": "../up.sarif"}, "relative path"),
        ({"command": "x", "exit_codes": "0"}, "list of integers"),
        ({"command": "x", "exit_codes": [True]}, "list of integers"),
        ({"command": "x", "timeout": 0}, "positive number"),
        ({"command": "x", "timeout": "1"}, "positive number"),
        ({"command": "x", "cmd": "y"}, "unknown option 'cmd'"),
    ],
)
def test_bad_options(options: dict[str, Any], expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        SarifGateOptions.parse(options)
