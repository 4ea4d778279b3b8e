"""`bastion scan`: formats, exit codes, suppressions, baselines, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from bastion.cli.scan import parse_gate_options, register, severity_counts
from bastion.engine.gates import AssessedFinding
from bastion.errors import BastionError, PolicyError, UsageError
from bastion.scanners.finding import Finding, Location, Severity

SCHEMA = Path(__file__).parents[1] / "data" / "sarif" / "sarif-schema-2.1.0.json"
BASTION = str(Path(sys.executable).with_name("bastion"))


def _sarif(*rules: tuple[str, str, int]) -> str:
    results = [
        {
            "ruleId": rule,
            "level": level,
            "message": {"text": f"{rule} [bold]found[/bold]"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "app.py"},
                        "region": {"startLine": line},
                    }
                }
            ],
        }
        for rule, level, line in rules
    ]
    return json.dumps(
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": results}]}
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "app.py").write_text("import os\neval(input())\nos.system(cmd)\n")
    (root / "scan.sarif").write_text(_sarif(("R-eval", "error", 2), ("R-note", "note", 1)))
    return root


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test root so `scan` stays a subcommand."""

    register(app)
    return app


def scan(root: Path, *args: str) -> tuple[int, str, BaseException | None]:
    argv = ["scan", str(root), "--gate", "sarif", "--unsafe-no-sandbox"]
    argv += ["--option", 'sarif.command=cp scan.sarif "$BASTION_SARIF"', *args]
    result = CliRunner().invoke(_app(), argv)
    error = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, error


def test_table_blocks_and_groups_by_severity(tree: Path) -> None:
    code, output, error = scan(tree)
    assert error is None
    assert code == 1
    # Issue 23: low and info are counted, listed only with --all (this test listed them).
    assert "HIGH (1)" in output
    assert "LOW (1)" not in output
    assert "1 low finding(s) not listed: --all lists them" in output
    _, listed, _ = scan(tree, "--all")
    assert listed.index("HIGH (1)") < listed.index("LOW (1)")
    assert "app.py:2" in output
    assert "R-eval [bold]found[/bold]" in output  # no markup injection
    assert "suppress: fingerprint" in output
    assert "BLOCKED" in output
    assert "WITHOUT" in output  # the unsafe warning is loud


def test_json_report_to_file_is_a_baseline(tree: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, _output, _ = scan(tree, "--json", "--output", str(report))
    assert code == 1
    doc = json.loads(report.read_text())
    assert doc["allowed"] is False
    assert {f["rule_id"] for f in doc["findings"]} == {"R-eval", "R-note"}
    code, output, _ = scan(tree, "--baseline-file", str(report))
    assert code == 0, output
    assert "in baseline" in output
    assert "PASS" in output


def test_sarif_output_is_schema_valid(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    code, _output, _ = scan(tree, "--format", "sarif", "-o", str(out))
    assert code == 1
    jsonschema.validate(json.loads(out.read_text()), json.loads(SCHEMA.read_text()))


def test_sarif_marks_suppressed_and_baseline(tree: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    scan(tree, "--json", "-o", str(report))
    findings = json.loads(report.read_text())["findings"]
    _suppress(tree, findings[0]["fingerprint"], "2999-12-31")
    out = tmp_path / "out.sarif"
    scan(tree, "--format", "sarif", "-o", str(out), "--baseline-file", str(report))
    results = json.loads(out.read_text())["runs"][0]["results"]
    assert {r["baselineState"] for r in results} == {"unchanged"}
    assert sum(1 for r in results if r.get("suppressions")) == 1


def test_failed_baseline_scan_counts_everything_as_new(tree: Path) -> None:
    _git(tree, "init", "-q", "-b", "main")
    _git(tree, "add", "app.py")
    _git(tree, "commit", "-q", "-m", "base without scan.sarif")
    code, output, _ = scan(tree, "--baseline", "main")
    assert code == 1
    assert "baseline scan of main failed for bastion/sarif" in output
    assert "all its findings count as new" in output


def test_table_to_file(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    code, _output, _ = scan(tree, "-o", str(out))
    assert code == 1
    assert "HIGH (1)" in out.read_text()


def _suppress(tree: Path, fingerprint: str, expires: str) -> None:
    (tree / ".bastion").mkdir(exist_ok=True)
    (tree / ".bastion" / "suppressions.yml").write_text(
        f"suppressions:\n  - fingerprint: {fingerprint}\n    owner: alice\n"
        f"    reason: reviewed\n    expires: {expires}\n"
    )


def test_suppression_and_its_expiry(tree: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    scan(tree, "--json", "-o", str(report))
    blocking = next(
        f["fingerprint"]
        for f in json.loads(report.read_text())["findings"]
        if f["rule_id"] == "R-eval"
    )
    _suppress(tree, blocking, "2999-12-31")
    code, output, _ = scan(tree)
    assert code == 0, output
    assert "suppressed by alice" in output
    _suppress(tree, blocking, "2001-01-01")
    code, output, _ = scan(tree)
    assert code == 1
    assert "expired on 2001-01-01" in output


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_baseline_git_ref_blocks_only_new_findings(tree: Path) -> None:
    _git(tree, "init", "-q", "-b", "main")
    _git(tree, "add", "-A")
    _git(tree, "commit", "-q", "-m", "base")
    # The old finding moved down two lines; one new high finding appeared.
    (tree / "app.py").write_text("# moved\n\nimport os\neval(input())\nos.system(cmd)\n")
    (tree / "scan.sarif").write_text(_sarif(("R-eval", "error", 4), ("R-shell", "error", 5)))
    code, output, _ = scan(tree, "--baseline", "main")
    assert code == 1
    assert "1 new critical or high finding" in output
    assert "sarif/R-shell at app.py:5" in output
    assert "sarif/R-eval at" not in output.split("policy decision")[1]


@pytest.mark.parametrize(
    ("args", "kind", "expected"),
    [
        (["--option", "nodot=1"], UsageError, "not GATE.KEY=VALUE"),
        (["--option", "sca.excludes=x"], UsageError, "bastion/sca: unknown option 'excludes'"),
        (["--baseline", "main", "--baseline-file", "x.json"], UsageError, "either a baseline"),
    ],
)
def test_usage_errors(tree: Path, args: list[str], kind: type[BastionError], expected: str) -> None:
    _code, _output, error = scan(tree, *args)
    assert isinstance(error, kind)
    assert expected in error.message
    assert error.exit_code == 2


def test_malformed_policy_stops_before_scanning(tree: Path, tmp_path: Path) -> None:
    policy = tree / ".bastion" / "policy"
    policy.mkdir(parents=True)
    (policy / "bad.rego").write_text("package bastion.gate\n\ndeny contains x if {\n")
    out = tmp_path / "never.json"
    _code, _output, error = scan(tree, "--json", "-o", str(out))
    assert isinstance(error, PolicyError)
    assert "bad.rego:" in error.message
    assert not out.exists()  # the output file is opened only on success


def test_parse_gate_options_types() -> None:
    (spec,) = parse_gate_options(["sarif"], ["sarif.exit_codes=[0, 1]", "sarif.command=ls -l"])
    assert spec.options == {"exit_codes": [0, 1], "command": "ls -l"}


def test_exit_codes_through_the_real_entry_point(tree: Path) -> None:
    bad = subprocess.run(
        [BASTION, "scan", str(tree), "--gate", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert "unknown gate 'bastion/nope'" in bad.stderr
    missing = subprocess.run(
        [BASTION, "scan", str(tree / "absent")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2
    assert "is not a directory" in missing.stderr


@pytest.mark.integration
def test_scan_in_real_sandbox(tree: Path) -> None:
    done = subprocess.run(
        [
            BASTION,
            "scan",
            str(tree),
            "--gate",
            "sarif",
            "--format",
            "json",
            "--option",
            'sarif.command=cp scan.sarif "$BASTION_SARIF"',
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["decision"]["reasons"][0]["fingerprints"]
    assert "BLOCKED" in done.stderr
    assert not (tree / "results.sarif").exists()  # nothing written into the scanned tree


def test_summary_mark_is_the_policy_decision(tree: Path, tmp_path: Path) -> None:
    # Regression: the gate's line showed a green ✓ while the policy blocked the scan.
    code, output, _ = scan(tree, "--json", "-o", str(tmp_path / "r.json"))
    assert code == 1
    assert "✗ BLOCKED: 2 finding(s)" in output
    assert "✓" not in output
    code, output, _ = scan(tree, "--baseline-file", str(tmp_path / "r.json"))
    assert code == 0
    assert "✓ PASS: 2 finding(s)" in output
    assert "✗" not in output


def test_summary_counts_every_severity(tree: Path) -> None:
    code, output, _ = scan(tree)
    assert code == 1
    assert "(0 critical, 1 high, 0 medium, 1 low, 0 info); 2 new, 0 suppressed" in output


def test_severity_counts_lists_every_severity_worst_first() -> None:
    items = [
        AssessedFinding(
            Finding.create(
                gate="sast",
                rule_id="r",
                severity=severity,
                message="m",
                location=Location("a.py", 1),
                match_key=severity.value,
            ),
            new=True,
        )
        for severity in (Severity.INFO, Severity.LOW, Severity.LOW)
    ]
    counts = severity_counts(items)
    assert list(counts) == list(Severity)
    assert counts == {
        Severity.CRITICAL: 0,
        Severity.HIGH: 0,
        Severity.UNKNOWN: 0,  # issue 23: a level of its own
        Severity.MEDIUM: 0,
        Severity.LOW: 2,
        Severity.INFO: 1,
    }


def test_sarif_locations_resolve_to_the_scanned_files(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    code, _output, _ = scan(tree, "--format", "sarif", "-o", str(out))
    assert code == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    resolved = set()
    for run in doc["runs"]:
        for result in run["results"]:
            location = result["locations"][0]["physicalLocation"]["artifactLocation"]
            base = run["originalUriBaseIds"][location["uriBaseId"]]["uri"]
            uri = urllib.parse.urljoin(base, location["uri"])
            resolved.add(Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path)))
    assert resolved == {tree.resolve() / "app.py"}


def test_json_report_is_the_decision_document(tree: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    scan(tree, "--json", "-o", str(report))
    doc = json.loads(report.read_text())
    assert set(doc) == {"format", "allowed", "decision", "baseline", "gates", "findings"}
    assert len(report.read_text().splitlines()) == 2 + len(doc["findings"])  # a line each
