"""The in-sandbox gate runner: reports and error reports, and reading them back strictly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.errors import GateError, ToolMissingError, UsageError
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import GateReport
from bastion.scanners.runner import (
    REPORT_FORMAT,
    decode_report,
    encode_error,
    encode_report,
    main,
)

SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "t"}},
            "results": [{"ruleId": "R1", "level": "error", "message": {"text": "bad"}}],
        }
    ],
}


def _run_main(tmp_path: Path, options: object) -> tuple[int, dict[str, object]]:
    out = tmp_path / "report.json"
    code = main(
        [
            "--gate",
            "sarif",
            "--root",
            str(tmp_path),
            "--out",
            str(out),
            "--options-json",
            json.dumps(options),
        ]
    )
    return code, json.loads(out.read_text())


def test_main_writes_a_report(tmp_path: Path) -> None:
    (tmp_path / "scan.sarif").write_text(json.dumps(SARIF))
    code, doc = _run_main(tmp_path, {"command": 'cp scan.sarif "$BASTION_SARIF"'})
    assert code == 0
    report = decode_report(doc, gate_name="sarif", source="r")
    (finding,) = report.findings
    assert finding.rule_id == "R1"
    assert finding.severity is Severity.HIGH
    assert report.facts["exit_code"] == 0


def _runner_cpu(tmp_path: Path, command: str) -> float | None:
    (tmp_path / "scan.sarif").write_text(json.dumps(SARIF))
    options = json.dumps({"command": f'{command}; cp scan.sarif "$BASTION_SARIF"'})
    out = tmp_path / "report.json"
    argv = ["--gate", "sarif", "--root", ".", "--out", str(out), "--options-json", options]
    # Its own process, as in the sandbox: the figures are the runner's and its children's.
    subprocess.run(
        [sys.executable, "-I", "-m", "bastion.scanners", *argv], cwd=tmp_path, check=True
    )
    doc = json.loads(out.read_text())
    assert "cpu_seconds" not in doc["facts"]  # not a fact: the policy input stays the same
    return decode_report(doc, gate_name="sarif", source="r").cpu_seconds


def test_the_runner_reports_the_cpu_its_tools_used(tmp_path: Path) -> None:
    idle = _runner_cpu(tmp_path, "true")
    busy = _runner_cpu(tmp_path, "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done")
    assert idle is not None
    assert busy is not None
    # The shell loop runs in a child of a child: its CPU counts as the gate's.
    assert busy - idle > 0.1


@pytest.mark.parametrize(
    ("figure", "read"),
    [
        (2.5, 2.5),
        (3, 3.0),
        (-1, None),
        (10**400, None),  # would overflow float()
        (float("nan"), None),
        (float("inf"), None),
        (True, None),
        ("2.5", None),
        (None, None),
    ],
)
def test_a_reported_cpu_figure_is_believed_only_when_sane(
    figure: object, read: float | None
) -> None:
    doc = {**encode_report(GateReport("sast", ())), "cpu_seconds": figure}
    assert decode_report(doc, gate_name="sast", source="r").cpu_seconds == read


def test_main_writes_an_error_report(tmp_path: Path) -> None:
    code, doc = _run_main(tmp_path, {"command": "exit 4"})
    assert code == 1
    with pytest.raises(GateError, match=r"^bastion/sarif: command exited with status 4"):
        decode_report(doc, gate_name="sarif", source="r")


def test_main_reports_bad_options_as_usage_errors(tmp_path: Path) -> None:
    code, doc = _run_main(tmp_path, {"comand": "x"})
    assert code == 1
    with pytest.raises(UsageError, match="unknown option 'comand'"):
        decode_report(doc, gate_name="sarif", source="r")
    code, doc = _run_main(tmp_path, ["not", "a", "mapping"])
    with pytest.raises(UsageError, match="options must be a mapping"):
        decode_report(doc, gate_name="sarif", source="r")
    out = tmp_path / "r.json"
    assert main(["--gate", "sarif", "--root", ".", "--out", str(out), "--options-json", "{"]) == 1
    with pytest.raises(GateError, match="bad options"):
        decode_report(json.loads(out.read_text()), gate_name="sarif", source="r")


def test_round_trip_and_error_kinds() -> None:
    finding = Finding.create(
        gate="sast",
        rule_id="r",
        severity=Severity.LOW,
        message="m",
        location=Location("a.py", 1),
        match_key="k",
    )
    report = GateReport("sast", (finding,), {"files": 3}, ("note",))
    assert decode_report(encode_report(report), gate_name="sast", source="r") == report
    missing = encode_error("sast", ToolMissingError("semgrep is not installed", hint="install"))
    with pytest.raises(ToolMissingError, match="semgrep is not installed") as info:
        decode_report(missing, gate_name="sast", source="r")
    assert info.value.hint == "install"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"format": "other"}, "not a Bastion gate report"),
        ({"format": REPORT_FORMAT, "gate": "iac", "findings": []}, "report is for gate 'iac'"),
        ({"format": REPORT_FORMAT, "gate": "sast"}, "malformed gate report"),
        ({"format": REPORT_FORMAT, "gate": "sast", "findings": [{}]}, "malformed gate report"),
        (
            {"format": REPORT_FORMAT, "gate": "sast", "findings": [], "facts": []},
            "malformed gate report",
        ),
        (
            {"format": REPORT_FORMAT, "gate": "sast", "error": {"type": "Weird", "message": ""}},
            "bastion/sast: failed",
        ),
    ],
)
def test_decode_rejects_bad_reports(doc: object, expected: str) -> None:
    with pytest.raises(GateError, match=expected):
        decode_report(doc, gate_name="sast", source="r")


def test_decode_rejects_findings_of_another_gate() -> None:
    finding = Finding.create(
        gate="iac",
        rule_id="r",
        severity=Severity.LOW,
        message="m",
        location=Location("a.tf"),
        match_key="k",
    )
    doc = encode_report(GateReport("iac", (finding,)))
    doc["gate"] = "sast"
    with pytest.raises(GateError, match="holds findings of 'iac'"):
        decode_report(doc, gate_name="sast", source="r")
