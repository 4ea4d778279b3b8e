"""Issue 23 §2: a gate's notices travel in its report and are written to the runner's output,
which in a pipeline run is the gate job's log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.scanners.runner import decode_report, main


def test_notices_reach_the_report_and_the_job_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pom.xml").write_text("<project/>\n")
    out = tmp_path / "report.json"
    assert main(["--gate", "sca", "--root", str(tmp_path), "--out", str(out)]) == 0
    report = decode_report(json.loads(out.read_text()), gate_name="sca", source="test")
    assert report.notices == ("not judged: pom.xml — no Maven parser yet",)
    assert "bastion/sca: not judged: pom.xml — no Maven parser yet" in capsys.readouterr().err
