"""The gate: discovery, findings with exact places, bad files as findings, options, data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.errors import GateError, UsageError
from bastion.pipeline import default_pipeline
from bastion.scanners.ciconfig import ActionAdvisories, CiconfigGate, install_advisories
from bastion.scanners.interface import ScanRequest
from bastion.scanners.registry import load_gate

CORPUS = Path(__file__).resolve().parents[3] / "benchmarks" / "ciconfig_corpus"


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_registered_and_in_the_default_pipeline_only_with_ci_files(tmp_path: Path) -> None:
    assert isinstance(load_gate("ciconfig"), CiconfigGate)
    gates = ["secrets", "ciconfig"]
    assert "ciconfig" not in default_pipeline(tmp_path, gates).pipeline.jobs
    _write(tmp_path, ".github/workflows/ci.yml", "on: push\njobs: {}\n")
    assert "ciconfig" in default_pipeline(tmp_path, gates).pipeline.jobs


def test_exact_line_and_column_of_an_injection(tmp_path: Path) -> None:
    _write(tmp_path, ".github/workflows/t.yml", (
        "on: issues\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n          echo start\n          echo \"${{ github.event.issue.title }}\"\n"
    ))  # fmt: skip
    report = CiconfigGate(home=tmp_path / "home").scan(ScanRequest(tmp_path))
    [finding] = [f for f in report.findings if f.rule_id == "template-injection"]
    assert (finding.location.path, finding.location.line, finding.location.column) == (
        ".github/workflows/t.yml", 9, 17,
    )  # fmt: skip
    assert finding.gate == "ciconfig"
    assert finding.properties["confidence"] == "high"


def test_bad_yaml_is_a_finding_and_other_files_still_judged(tmp_path: Path) -> None:
    _write(tmp_path, ".github/workflows/bad.yml", "on: push\njobs:\n  a:\n    x: 1\n    x: 2\n")
    _write(tmp_path, ".github/workflows/good.yml", "on: push\njobs:\n  a: {runs-on: x}\n")
    report = CiconfigGate(home=tmp_path / "home").scan(ScanRequest(tmp_path))
    bad = [f for f in report.findings if f.rule_id == "invalid-yaml"]
    assert [(f.location.path, f.location.line) for f in bad] == [(".github/workflows/bad.yml", 5)]
    assert any(f.location.path.endswith("good.yml") for f in report.findings)


def test_gitlab_local_includes_are_followed_and_bounded_to_the_tree(tmp_path: Path) -> None:
    _write(tmp_path, ".gitlab-ci.yml", "include:\n  - local: ci/*.yml\n  - local: ../x.yml\n")
    _write(tmp_path, "ci/a.yml", "t:\n  image: node:22\n  script: [make]\n")
    report = CiconfigGate(home=tmp_path / "home").scan(ScanRequest(tmp_path))
    assert report.facts["files"] == [".gitlab-ci.yml", "ci/a.yml"]
    assert [f.location.path for f in report.findings] == ["ci/a.yml"]
    assert any("leaves the repository" in note for note in report.notes)


def test_fingerprints_survive_moving_lines(tmp_path: Path) -> None:
    text = "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps: [{uses: o/r@v1}]\n"
    _write(tmp_path, ".github/workflows/w.yml", text)
    first = CiconfigGate(home=tmp_path / "h").scan(ScanRequest(tmp_path)).findings
    _write(tmp_path, ".github/workflows/w.yml", "# moved\n\n" + text)
    second = CiconfigGate(home=tmp_path / "h").scan(ScanRequest(tmp_path)).findings
    assert [f.fingerprint for f in first] == [f.fingerprint for f in second]
    assert first[0].location.line != second[0].location.line


def test_options_exclude_and_unknown(tmp_path: Path) -> None:
    _write(tmp_path, ".github/workflows/w.yml", "on: push\njobs:\n  a: {runs-on: x}\n")
    gate = CiconfigGate(home=tmp_path / "h")
    excluded = gate.scan(ScanRequest(tmp_path, {"exclude": [".github/**"]}))
    assert excluded.findings == ()
    assert excluded.notes == ("no CI configuration files found",)
    with pytest.raises(UsageError):
        gate.scan(ScanRequest(tmp_path, {"exclude": 3}))
    with pytest.raises(UsageError):
        gate.scan(ScanRequest(tmp_path, {"excludes": []}))


def test_a_newer_installed_advisory_list_wins(tmp_path: Path) -> None:
    bundled = ActionAdvisories.bundled()
    newer = {
        "format": "bastion-ciconfig-actions/1",
        "updated": "2099-01-01",
        "compromised": [{"action": "Example/Evil", "id": "GHSA-test", "date": "2099-01-01",
                         "tags": ["v9"]}],
    }  # fmt: skip
    source = tmp_path / "list.json"
    source.write_text(json.dumps(newer), encoding="utf-8")
    home = tmp_path / "home"
    install_advisories(source, home)
    gate = CiconfigGate(home=home)
    assert gate.required_binds() == [home / "ciconfig"]
    workflow = "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{uses: example/evil@v9}]\n"
    _write(tmp_path / "repo", ".github/workflows/w.yml", workflow)
    report = gate.scan(ScanRequest(tmp_path / "repo"))
    assert bundled.updated < "2099-01-01"
    assert report.facts["advisories_updated"] == "2099-01-01"
    assert "known-compromised-action" in {f.rule_id for f in report.findings}


def test_a_malformed_advisory_list_is_a_gate_error(tmp_path: Path) -> None:
    source = tmp_path / "list.json"
    source.write_text('{"format": "nope"}', encoding="utf-8")
    with pytest.raises(GateError, match="malformed"):
        install_advisories(source, tmp_path / "home")


def test_fixed_corpus_is_clean_and_vulnerable_corpus_is_not(tmp_path: Path) -> None:
    gate = CiconfigGate(home=tmp_path / "h")
    assert gate.scan(ScanRequest(CORPUS / "fixed")).findings == ()
    found = {f.rule_id for f in gate.scan(ScanRequest(CORPUS / "vulnerable")).findings}
    assert {"template-injection", "unsafe-checkout", "known-compromised-action",
            "gitlab-injection", "bastion-egress-any"} <= found  # fmt: skip
