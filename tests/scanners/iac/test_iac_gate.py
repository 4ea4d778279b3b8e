"""The IaC gate end to end with a fake Checkov environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.errors import GateError, ToolMissingError, UsageError
from bastion.scanners.iac import DEFAULT_FRAMEWORKS, IacGate
from bastion.scanners.interface import ScanRequest
from bastion.scanners.registry import load_gate
from bastion.scanners.tools import Tool
from tests.scanners.tools.tool_fakes import fake_environment

DATA = Path(__file__).parents[2] / "data" / "iac"
CHECKOV_OK = f'echo "$@" > "$HOME/argv"; /bin/cat "{DATA / "checkov-output.json"}"; exit 1'


def test_failed_checks_are_reported(tmp_path: Path) -> None:
    fake_environment(tmp_path, Tool.CHECKOV, CHECKOV_OK)
    report = IacGate(tmp_path).scan(ScanRequest(DATA / "project"))
    assert report.gate == "iac"
    assert {f.rule_id for f in report.findings} >= {"CKV_AWS_24", "CKV_DOCKER_3"}
    assert report.facts["frameworks"] == list(DEFAULT_FRAMEWORKS)
    assert report.facts["tools"] == {"checkov": "3.3.30"}


def test_crash_and_timeout_fail_closed(tmp_path: Path) -> None:
    fake_environment(tmp_path, Tool.CHECKOV, 'echo "KeyError: resource" >&2; exit 2')
    with pytest.raises(GateError, match=r"(?s)Checkov crashed.*KeyError: resource"):
        IacGate(tmp_path).scan(ScanRequest(DATA / "project"))
    slow = tmp_path / "slow"
    fake_environment(slow, Tool.CHECKOV, "sleep 30")
    with pytest.raises(GateError, match=r"Checkov timed out after 0\.5 s"):
        IacGate(slow).scan(ScanRequest(DATA / "project", {"timeout": 0.5}))


def test_missing_checkov_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError) as info:
        IacGate(tmp_path).scan(ScanRequest(DATA / "project"))
    assert "bastion tools install checkov" in info.value.diagnostics()


def test_helm_chart_without_helm_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, tree = tmp_path / "home", tmp_path / "tree"
    fake_environment(home, Tool.CHECKOV, CHECKOV_OK)
    (tree / "chart").mkdir(parents=True)
    (tree / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GateError, match="helm sources but none of helm"):
        IacGate(home).scan(ScanRequest(tree))
    # Leaving helm out on purpose is allowed.
    report = IacGate(home).scan(ScanRequest(tree, {"frameworks": ["terraform", "kubernetes"]}))
    assert report.facts["frameworks"] == ["terraform", "kubernetes"]


def test_bad_frameworks_are_errors(tmp_path: Path) -> None:
    fake_environment(tmp_path, Tool.CHECKOV, CHECKOV_OK)
    with pytest.raises(UsageError, match="unknown framework"):
        IacGate(tmp_path).scan(ScanRequest(DATA / "project", {"frameworks": ["puppet"]}))


def test_binds_and_registration(tmp_path: Path) -> None:
    env = fake_environment(tmp_path, Tool.CHECKOV, CHECKOV_OK)
    assert IacGate(tmp_path).required_binds()[0] == env.path
    assert isinstance(load_gate("iac"), IacGate)
    with pytest.raises(GateError, match="not a directory"):
        IacGate(tmp_path).scan(ScanRequest(tmp_path / "nope"))
