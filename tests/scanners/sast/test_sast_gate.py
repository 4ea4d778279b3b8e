"""The SAST gate end to end with fake tool environments (no 400 MB installs needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bastion.errors import GateError, ToolMissingError, UsageError
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import ScanRequest
from bastion.scanners.registry import load_gate
from bastion.scanners.sast import SastGate, merge_findings
from bastion.scanners.tools import Tool
from tests.scanners.tools.tool_fakes import fake_environment

DATA = Path(__file__).parents[2] / "data" / "sast"
PROJECT = DATA / "project"
BANDIT_OK = f"""
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done
cat "{DATA / "bandit-report.json"}" > "$out"
exit 1
"""
SEMGREP_OK = f'cat "{DATA / "semgrep-output.json"}"'


def _gate(home: Path, bandit: str = BANDIT_OK, semgrep: str = SEMGREP_OK) -> SastGate:
    fake_environment(home, Tool.BANDIT, bandit)
    fake_environment(home, Tool.SEMGREP, semgrep)
    return SastGate(home)


def test_findings_of_both_tools_are_merged(tmp_path: Path) -> None:
    report = _gate(tmp_path).scan(ScanRequest(PROJECT))
    assert report.gate == "sast"
    rules = [(f.rule_id, f.location.line) for f in report.findings]
    # Every Bandit result is the same flaw as a Semgrep result on its line, or is skipped
    # (B404, a bare import notice): one finding per flaw.
    assert rules == [("py-subprocess-shell", 8), ("py-weak-hash", 9), ("py-eval-dynamic", 13)]
    shell = report.findings[0]
    assert shell.properties["corroborated_by"] == ["bandit:B602"]
    assert shell.cwe == ("CWE-78",)
    assert report.facts["tools"] == {"bandit": "1.9.4", "semgrep": "1.180.0"}
    assert report.facts["semgrep_files_scanned"] == 1


def test_only_the_selected_tool_runs(tmp_path: Path) -> None:
    fake_environment(tmp_path, Tool.BANDIT, BANDIT_OK)
    report = SastGate(tmp_path).scan(ScanRequest(PROJECT, {"tools": ["bandit"]}))
    assert {f.rule_id for f in report.findings} == {"B602", "B324", "B307"}
    assert {f.severity for f in report.findings} == {Severity.HIGH, Severity.MEDIUM}


def test_crashing_scanner_fails_the_gate_closed_with_the_reason(tmp_path: Path) -> None:
    crash = 'echo "Traceback (most recent call last):" >&2; echo "MemoryError" >&2; exit 2'
    gate = _gate(tmp_path, semgrep=crash)
    with pytest.raises(GateError, match=r"(?s)Semgrep crashed.*MemoryError"):
        gate.scan(ScanRequest(PROJECT))


def test_scanner_timeout_fails_the_gate_closed(tmp_path: Path) -> None:
    gate = _gate(tmp_path, bandit="sleep 30")
    with pytest.raises(GateError, match=r"Bandit timed out after 0\.5 s"):
        gate.scan(ScanRequest(PROJECT, {"timeout": 0.5}))


def test_missing_tool_is_an_error_naming_the_install_command(tmp_path: Path) -> None:
    fake_environment(tmp_path, Tool.BANDIT, BANDIT_OK)
    with pytest.raises(ToolMissingError, match="semgrep"):
        SastGate(tmp_path).scan(ScanRequest(PROJECT))
    with pytest.raises(ToolMissingError, match="semgrep"):
        SastGate(tmp_path).required_binds()


def test_binds_cover_both_environments(tmp_path: Path) -> None:
    gate = _gate(tmp_path)
    binds = gate.required_binds()
    assert any(b.name.startswith("bandit-") for b in binds)
    assert any(b.name.startswith("semgrep-") for b in binds)
    assert len(binds) == len(set(binds))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tools": ["pylint"]}, "option `tools`"),
        ({"rules": ["p/python"]}, "offline"),
        ({"colour": True}, "unknown option"),
    ],
)
def test_bad_options_are_errors(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _gate(tmp_path).scan(ScanRequest(PROJECT, options))


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="not a directory"):
        _gate(tmp_path).scan(ScanRequest(tmp_path / "missing"))


def test_registered_as_bastion_sast() -> None:
    assert isinstance(load_gate("sast"), SastGate)


def test_too_small_address_space_fails_closed_before_running(tmp_path: Path) -> None:
    _gate(tmp_path)  # the fake environments the child process finds
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from bastion.errors import GateError\n"
        "from bastion.scanners.interface import ScanRequest\n"
        "from bastion.scanners.sast import SastGate, merge_findings\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, resource.RLIM_INFINITY))\n"
        "try:\n"
        "    SastGate(Path(sys.argv[1])).scan(ScanRequest(Path(sys.argv[2])))\n"
        "except GateError as exc:\n"
        "    print(exc.diagnostics())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(PROJECT)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "below the 4 GiB Semgrep needs" in done.stdout
    assert "limits: {memory: 4G}" in done.stdout


def test_worse_bandit_severity_wins_when_merged() -> None:
    location = Location("a.py", 3)
    ours = Finding.create(
        gate="sast",
        rule_id="py-weak-hash",
        severity=Severity.MEDIUM,
        message="m",
        location=location,
        match_key="k",
        properties={"bandit_equivalents": ["B324"]},
    )
    theirs = Finding.create(
        gate="sast",
        rule_id="B324",
        severity=Severity.HIGH,
        message="b",
        location=location,
        match_key="k",
    )
    other = Finding.create(
        gate="sast",
        rule_id="B324",
        severity=Severity.LOW,
        message="b",
        location=Location("a.py", 4),
        match_key="k2",
    )
    merged = merge_findings([ours], [theirs, other])
    assert [(f.rule_id, f.severity) for f in merged] == [
        ("py-weak-hash", Severity.HIGH),
        ("B324", Severity.LOW),
    ]
    assert merged[0].fingerprint == ours.fingerprint
