"""The SCA gate end to end: findings, alias merging, fingerprints, facts and failing closed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bastion.errors import UsageError
from bastion.scanners.finding import Severity
from bastion.scanners.interface import GateReport, ScanRequest
from bastion.scanners.registry import load_gate
from bastion.scanners.sca import ScaGate, import_path
from bastion.scanners.sca.errors import DatabaseError, ManifestError

from .sca_data import EXAMPLE, MANIFESTS, OSV


@pytest.fixture
def osv_db(tmp_path: Path) -> Path:
    """A database imported from the real test records (PyPI, Go, crates.io)."""
    directory = tmp_path / "osv"
    import_path(OSV, directory, source="test records")
    return directory


def _scan(root: Path, db_dir: Path, **options: object) -> tuple[ScaGate, GateReport]:
    gate = ScaGate(database_dir=db_dir)
    return gate, gate.scan(ScanRequest(root=root, options=options))


def test_example_service_against_the_bundled_snapshot(tmp_path: Path) -> None:
    report = ScaGate(database_dir=tmp_path / "none").scan(ScanRequest(root=EXAMPLE))
    assert report.gate == "sca"
    assert report.notes[0].startswith("using the bundled OSV snapshot (PyPI of 2024-10-10)")
    assert report.notices[0] == report.notes[0]  # the data's date, shown before the verdict
    by_rule = {(f.properties["package"], f.rule_id): f for f in report.findings}
    requests_old = by_rule[("requests", "CVE-2018-18074")]
    assert requests_old.location.path == "requirements.txt"
    assert requests_old.location.line == 4
    assert set(requests_old.ids) == {"CVE-2018-18074", "GHSA-x84v-xcm2-53pg", "PYSEC-2018-28"}
    assert requests_old.fix == "upgrade requests to 2.20.0"
    assert requests_old.properties["relation"] == "direct"
    assert requests_old.properties["database_date"] == "2024-10-10"
    assert requests_old.properties["database_source"].startswith("PyPA Advisory Database")
    # Severity is computed from the record's CVSS vector where there is one...
    werkzeug = by_rule[("werkzeug", "CVE-2023-46136")]
    assert werkzeug.severity is Severity.HIGH
    assert werkzeug.properties["cvss_score"] == 7.5
    # ...and never guessed where there is none.
    assert requests_old.severity is Severity.UNKNOWN  # issue 23: unknown, not medium
    assert "no CVSS vector" in requests_old.properties["severity_source"]
    # The unpinned range is reported with the vulnerable versions it admits.
    urllib3 = [f for f in report.findings if f.properties["package"] == "urllib3"]
    assert urllib3
    assert all(f.properties["specifier"] == "<1.25,>=1.21.1" for f in urllib3)
    assert all(f.properties["admitted_versions"] for f in urllib3)
    assert all(f.fix and f.fix.startswith("require urllib3>=") for f in urllib3)
    facts = report.facts
    assert facts["database_bundled_snapshot"] is True
    assert facts["database_date"] == "2024-10-10"
    assert facts["database_age_days"] > 700
    summary = {s["package"]: s for s in facts["summary"]}
    assert summary["requests"]["upgrade_to"] == "2.31.0"
    assert summary["pyyaml"]["upgrade_to"] == "5.4"
    assert summary["flask"]["vulnerabilities"] == [
        "CVE-2018-1000656",
        "CVE-2019-1010083",
        "CVE-2023-30861",
    ]
    assert summary["werkzeug"]["highest_severity"] == "high"
    assert (
        "requests 2.19.1: 2 vulnerabilities (severity unknown); upgrade to 2.31.0 fixes all known"
        in report.notes
    )
    json.dumps(dict(facts))  # facts travel as JSON to the policy engine


def test_aliases_merge_into_one_finding(tmp_path: Path, osv_db: Path) -> None:
    (tmp_path / "requirements.txt").write_text("AccessControl==4.2\n")
    _, report = _scan(tmp_path, osv_db)
    [finding] = report.findings
    assert report.notes[0].startswith("judged against OSV data from ")
    assert "days old)" in report.notes[0]
    assert set(finding.properties["records"]) == {"PYSEC-2021-335", "PYSEC-2021-370"}
    assert "GHSA-qcx9-j53g-ccgf" in finding.ids
    assert finding.fix == "upgrade accesscontrol to 4.3"


def test_withdrawn_records_are_ignored(tmp_path: Path, osv_db: Path) -> None:
    (tmp_path / "requirements.txt").write_text("aiohttp==3.8.1\n")
    _, report = _scan(tmp_path, osv_db)
    assert report.findings == ()


def test_fingerprints_survive_a_manifest_rename(tmp_path: Path, osv_db: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.19.1\n")
    _, before = _scan(tmp_path, osv_db)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "requirements.txt").rename(tmp_path / "deploy" / "requirements-prod.txt")
    _, after = _scan(tmp_path, osv_db)
    first = {f.fingerprint for f in before.findings}
    second = {f.fingerprint for f in after.findings}
    assert first == second
    assert len(first) == 2
    assert {f.location.path for f in after.findings} == {"deploy/requirements-prod.txt"}
    (tmp_path / "deploy" / "requirements-prod.txt").write_text("requests==2.20.0\n")
    _, upgraded = _scan(tmp_path, osv_db)
    assert {f.fingerprint for f in upgraded.findings}.isdisjoint(first)


def test_go_and_cargo_lock_files(tmp_path: Path, osv_db: Path) -> None:
    shutil.copytree(MANIFESTS / "go", tmp_path / "svc")
    _, report = _scan(tmp_path, osv_db)
    found = {(f.properties["package"], f.rule_id) for f in report.findings}
    assert ("github.com/gin-gonic/gin", "CVE-2020-36567") in found
    assert any(p == "github.com/rancher/rancher" for p, _ in found)
    gin = next(f for f in report.findings if f.properties["package"] == "github.com/gin-gonic/gin")
    assert gin.fix == "upgrade github.com/gin-gonic/gin to 1.6.0"
    assert gin.location.line == 6
    assert report.facts["database_ecosystems"]["Go"]["records"] == 2


def test_cvss_v4_only_record_is_scored(tmp_path: Path, osv_db: Path) -> None:
    (tmp_path / "Cargo.lock").write_text(
        'version = 3\n\n[[package]]\nname = "wasmtime"\nversion = "46.0.1"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
    )
    _, report = _scan(tmp_path, osv_db)
    [finding] = report.findings
    # RUSTSEC-2026-0223 carries only CVSS:4.0/AV:N/AC:H/AT:P/PR:H/UI:P/VC:N/VI:L/VA:L/...
    assert finding.severity is Severity.LOW
    assert finding.properties["severity_source"] == "CVSS 4.0 base score"
    assert finding.properties["cvss_score"] == 2.0


def test_missing_ecosystem_fails_closed(tmp_path: Path) -> None:
    shutil.copytree(MANIFESTS / "ruby", tmp_path / "app")
    with pytest.raises(DatabaseError, match="no RubyGems vulnerability data"):
        ScaGate(database_dir=tmp_path / "none").scan(ScanRequest(root=tmp_path))


def test_malformed_manifest_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.19.1\nflask=>1\n")
    with pytest.raises(ManifestError) as caught:
        ScaGate(database_dir=tmp_path / "none").scan(ScanRequest(root=tmp_path))
    assert caught.value.location() == "requirements.txt:2"


def test_nothing_to_scan(tmp_path: Path) -> None:
    report = ScaGate(database_dir=tmp_path / "none").scan(ScanRequest(root=tmp_path))
    assert report.findings == ()
    assert report.notes == ("no dependency manifests found",)
    (tmp_path / "requirements.txt").write_text("# nothing yet\n")
    report = ScaGate(database_dir=tmp_path / "none").scan(ScanRequest(root=tmp_path))
    assert report.notes == ("no dependencies declared",)


def test_unjudged_and_excluded_entries_are_said(tmp_path: Path, osv_db: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "demo @ https://example.org/demo-1.0.tar.gz\npy==1.11.0\n"
    )
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "requirements.txt").write_text("requests==2.19.1\n")
    _, report = _scan(tmp_path, osv_db, exclude=["fixtures"])
    notes = report.notes
    assert any(
        "demo @ https://example.org/demo-1.0.tar.gz has no registry version" in n for n in notes
    )
    assert {f.properties["package"] for f in report.findings} == {"py"}
    assert report.facts["manifests"] == ["requirements.txt"]


def test_installed_environment_option(tmp_path: Path, osv_db: Path) -> None:
    info = tmp_path / "env" / "lib" / "python3.11" / "site-packages" / "py-1.11.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: py\nVersion: 1.11.0\n")
    _, report = _scan(tmp_path, osv_db, installed="env")
    [finding] = report.findings
    assert finding.location.path == "env"
    assert finding.fix is None
    assert "no fixed version is known" in finding.message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"installed": 3}, "must be a path"),
        ({"installed": "missing"}, "is not a directory"),
        ({"exclude": [1]}, "list of paths"),
    ],
)
def test_bad_options_are_usage_errors(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        ScaGate(database_dir=tmp_path).scan(ScanRequest(root=tmp_path, options=options))


def test_stale_database_can_block_through_policy(tmp_path: Path) -> None:
    from bastion.policy.interpreter import RegoModule, evaluate

    import_path(OSV / "pypa" / "requests", tmp_path / "osv", snapshot_date="2020-01-01")
    (tmp_path / "requirements.txt").write_text("requests==2.31.0\n")
    _, report = _scan(tmp_path, tmp_path / "osv")
    facts = report.facts
    assert report.findings == ()
    assert facts["database_date"] == "2020-01-01"
    assert facts["database_age_days"] > 2000
    module = RegoModule(
        "stale.rego",
        "package bastion.gate\n"
        "deny contains msg if {\n"
        "  age := input.gates.sca.facts.database_age_days\n"
        "  age > 7\n"
        '  msg := sprintf("vulnerability data is %d days old", [age])\n'
        "}\n",
    )
    policy_input = json.dumps({"findings": [], "gates": {"sca": {"facts": dict(facts)}}})
    decision = evaluate([module], "data.bastion.gate.deny", policy_input)
    assert decision == [f"vulnerability data is {facts['database_age_days']} days old"]


def test_database_options_fail_closed(tmp_path: Path, osv_db: Path) -> None:
    (tmp_path / "requirements.txt").write_text("py==1.11.0\n")
    with pytest.raises(DatabaseError, match="requires one"):
        _scan(tmp_path, tmp_path / "none", require_database=True)
    with pytest.raises(DatabaseError, match="holds no vulnerability index"):
        _scan(tmp_path, osv_db, database="elsewhere")
    _, report = _scan(tmp_path, tmp_path / "none", database=str(osv_db), require_database=True)
    assert report.facts["database_source"] == "test records"
    assert [f.properties["package"] for f in report.findings] == ["py"]


def test_registry_and_sandbox_binds(tmp_path: Path) -> None:
    gate = load_gate("sca")
    assert isinstance(gate, ScaGate)
    assert gate.name == "sca"
    assert ScaGate(database_dir=tmp_path / "missing").required_binds() == []
    assert ScaGate(database_dir=tmp_path).required_binds() == [tmp_path]


def test_admitted_versions_message_is_complete_or_says_how_many_more(tmp_path: Path) -> None:
    # Issue 23: "requests >=2.20.0 admits 2.20.0 … 2.23.0" hid that 2.24-2.30 are affected too.
    (tmp_path / "requirements.txt").write_text("requests>=2.20.0\n")
    report = ScaGate(database_dir=tmp_path / "none").scan(ScanRequest(root=tmp_path))
    (finding,) = [f for f in report.findings if f.rule_id == "CVE-2023-32681"]
    admitted = finding.properties["admitted_versions"]
    assert "2.30.0" in admitted
    assert len(admitted) > 5
    assert f"…and {len(admitted) - 5} more" in finding.message
    assert ", ".join(admitted[:5]) in finding.message
