"""Issue 23, end to end: a blocked run of the built-in default pipeline says what blocked it.

Every gate of the default pipeline finishes under fail-fast; the run lists the findings
that blocked it (with fingerprints) under its table, ``runs show --findings`` reads them
from the run record, and each gate job's log says what the gate did and found.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support import run_bastion

pytestmark = pytest.mark.integration

VULNERABLE = Path(__file__).resolve().parents[2] / "examples" / "vulnerable-service"
GATES = ("secrets", "sast", "sca", "iac")


@pytest.fixture(scope="module")
def blocked_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], str]:
    """The vulnerable example without its pipeline file: the default pipeline, fail-fast."""
    repo = tmp_path_factory.mktemp("default") / "vulnerable"
    shutil.copytree(VULNERABLE, repo, ignore=shutil.ignore_patterns("state", "__pycache__"))
    (repo / ".bastion" / "pipeline.yml").unlink()
    done = run_bastion("run", "-C", str(repo), "--json", "--offline")
    assert done.returncode == 1, done.stderr
    return repo, json.loads(done.stdout), done.stderr


def test_no_gate_of_the_default_pipeline_cancels_another(
    blocked_run: tuple[Path, dict[str, object], str],
) -> None:
    _, result, stderr = blocked_run
    assert result["state"] == "blocked"
    jobs = result["jobs"]
    assert isinstance(jobs, dict)
    for gate in GATES:
        assert jobs[gate]["state"] == "blocked", (gate, jobs[gate], stderr)
        assert jobs[gate]["verdict"]["summary"]["findings"] > 0


def test_the_blocked_run_lists_its_findings_and_the_record_keeps_them(
    blocked_run: tuple[Path, dict[str, object], str],
) -> None:
    repo, result, stderr = blocked_run
    run_id = str(result["run_id"])
    shown = run_bastion("runs", "show", run_id, "-C", str(repo), "--findings", "--json")
    assert shown.returncode == 0, shown.stderr
    findings = json.loads(shown.stdout)["findings"]
    assert {f["job"] for f in findings} == set(GATES)
    assert {"rule_id", "severity", "path", "line", "message", "fingerprint"} <= set(findings[0])
    worst = findings[0]  # worst first
    assert f"findings that blocked run {run_id}:" in stderr
    assert f"fingerprint {worst['fingerprint']}" in stderr
    listed = [line for line in stderr.splitlines() if "fingerprint " in line]
    assert 0 < len(listed) <= 20
    if len([f for f in findings if f["severity"] not in ("low", "info")]) > 20:
        assert f"more: bastion runs show {run_id} --findings" in stderr
    # low and info: in the JSON, counted but not listed in the table without --all
    quiet = [f for f in findings if f["severity"] in ("low", "info")]
    table = run_bastion("runs", "show", run_id, "-C", str(repo), "--findings")
    every = run_bastion("runs", "show", run_id, "-C", str(repo), "--findings", "--all")
    assert len(every.stdout.splitlines()) == len(findings) + 1
    assert len(table.stdout.splitlines()) == len(findings) - len(quiet) + 1
    if quiet:
        assert "low/info not listed (--all lists them)" in table.stdout


def test_a_gate_jobs_log_says_what_it_found(
    blocked_run: tuple[Path, dict[str, object], str],
) -> None:
    repo, result, _ = blocked_run
    logs = run_bastion("logs", str(result["run_id"]), "sast", "-C", str(repo))
    assert logs.returncode == 0, logs.stderr
    assert "── verdict: blocked ──" in logs.stdout
    assert "finding(s) (" in logs.stdout
    assert "[fingerprint " in logs.stdout
    assert (repo / ".bastion" / "state" / "logs" / str(result["run_id"])).is_dir()
