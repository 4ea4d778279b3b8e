"""SARIF out: valid against the official 2.1.0 schema, shaped for GitHub code scanning."""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion import __version__
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.sarif import (
    FINGERPRINT_KEY,
    LOCATION_FINGERPRINT_KEY,
    SRCROOT,
    ToolInfo,
    findings_to_sarif,
    location_fingerprint,
    sarif_to_findings,
    write_sarif,
)

SCHEMA_PATH = Path(__file__).parents[1] / "data" / "sarif" / "sarif-schema-2.1.0.json"


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker: jsonschema.protocols.Validator = cls(schema)
    return checker


_VALIDATOR = _validator()


@pytest.fixture
def validator() -> jsonschema.protocols.Validator:
    return _VALIDATOR


def _finding(**overrides: Any) -> Finding:
    values: dict[str, Any] = {
        "gate": "sast",
        "rule_id": "py-eval",
        "severity": Severity.HIGH,
        "message": "eval of request data",
        "location": Location("app/views.py", 12, 5, 13),
        "match_key": "return eval(q)",
        "title": "Use of eval",
        "cwe": ("CWE-95",),
        "fix": "Use ast.literal_eval.",
        "properties": {"help_uri": "https://example.org/rules/py-eval"},
    }
    values.update(overrides)
    return Finding.create(**values)


def test_output_validates_against_official_schema(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    findings = [
        _finding(),
        _finding(severity=Severity.CRITICAL, location=Location("app/db.py", 3), match_key="x"),
        _finding(gate="secrets", rule_id="aws-key", severity=Severity.HIGH, cwe=()),
        _finding(gate="sca", rule_id="CVE-2024-1", severity=Severity.INFO, fix=None),
        _finding(gate="iac", location=Location("no line.tf"), match_key="res"),
    ]
    doc = findings_to_sarif(
        findings,
        gates=["sast", "image"],
        tools={"sast": ToolInfo("Semgrep", "1.95.0", "https://semgrep.dev")},
        source_root=tmp_path,
    )
    validator.validate(doc)
    assert [run["automationDetails"]["id"] for run in doc["runs"]] == [
        "bastion/iac/",
        "bastion/image/",
        "bastion/sast/",
        "bastion/sca/",
        "bastion/secrets/",
    ]


def test_github_fields() -> None:
    doc = findings_to_sarif([_finding()], tools={"sast": ToolInfo("Semgrep", "1.95.0")})
    (run,) = doc["runs"]
    (rule,) = run["tool"]["driver"]["rules"]
    (result,) = run["results"]
    assert run["tool"]["driver"]["version"] == "1.95.0"
    assert rule["properties"]["security-severity"] == "8.0"
    assert "external/cwe/cwe-95" in rule["properties"]["tags"]
    assert rule["helpUri"] == "https://example.org/rules/py-eval"
    assert rule["help"]["text"] == "Use ast.literal_eval."
    assert result["ruleIndex"] == 0
    assert result["level"] == "error"
    assert result["partialFingerprints"] == {
        FINGERPRINT_KEY: _finding().fingerprint,
        LOCATION_FINGERPRINT_KEY: location_fingerprint(_finding()),
    }
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "app/views.py", "uriBaseId": SRCROOT}
    assert physical["region"] == {"startLine": 12, "startColumn": 5, "endLine": 13}
    # %SRCROOT% is defined, but without a host path unless the caller gives the root.
    assert set(run["originalUriBaseIds"]) == {SRCROOT}
    assert "uri" not in run["originalUriBaseIds"][SRCROOT]


def test_rule_takes_the_worst_severity_seen() -> None:
    low = _finding(severity=Severity.LOW, match_key="a")
    critical = _finding(severity=Severity.CRITICAL, match_key="b")
    (rule,) = findings_to_sarif([low, critical])["runs"][0]["tool"]["driver"]["rules"]
    assert rule["properties"]["security-severity"] == "9.5"
    assert rule["defaultConfiguration"]["level"] == "error"


def test_uris_are_percent_encoded() -> None:
    doc = findings_to_sarif([_finding(location=Location("dir with space/a#b.py", 1))])
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"] == "dir%20with%20space/a%23b.py"
    (back,) = sarif_to_findings(doc, gate="sast")
    assert back.location.path == "dir with space/a#b.py"


_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=30,
)
_findings = st.builds(
    Finding.create,
    gate=st.sampled_from(["sast", "secrets", "sca"]),
    rule_id=st.from_regex(r"[A-Za-z][A-Za-z0-9._/-]{0,20}", fullmatch=True),
    severity=st.sampled_from(list(Severity)),
    message=_text.filter(str.strip),
    location=st.builds(
        Location,
        path=st.from_regex(r"[a-z0-9_ -]{1,8}(/[a-z0-9_-][a-z0-9_.-]{0,7}){0,2}", fullmatch=True),
        line=st.none() | st.integers(1, 10**6),
        commit=st.none() | st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
    ),
    match_key=_text,
    title=_text,
    cwe=st.lists(st.from_regex(r"CWE-[0-9]{1,4}", fullmatch=True), max_size=2).map(tuple),
    ids=st.lists(st.from_regex(r"CVE-20[0-9]{2}-[0-9]{4,6}", fullmatch=True), max_size=2).map(
        tuple
    ),
    fix=st.none() | _text,
    properties=st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), _text, max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_findings, max_size=6))
def test_round_trip_through_sarif(findings: list[Finding]) -> None:
    doc = json.loads(json.dumps(findings_to_sarif(findings)))
    back: list[Finding] = []
    for gate in sorted({f.gate for f in findings}):
        back.extend(sarif_to_findings(_only_gate(doc, gate), gate=gate))
    assert sorted(back, key=_key) == sorted(findings, key=_key)


@settings(max_examples=30, deadline=None)
@given(st.lists(_findings, max_size=6))
def test_every_output_is_schema_valid(findings: list[Finding]) -> None:
    _VALIDATOR.validate(findings_to_sarif(findings))


def _only_gate(doc: dict[str, Any], gate: str) -> dict[str, Any]:
    runs = [run for run in doc["runs"] if run["automationDetails"]["id"] == f"bastion/{gate}/"]
    return {**doc, "runs": runs}


def _key(finding: Finding) -> str:
    return json.dumps(finding.to_dict(), sort_keys=True)


def test_suppressions_and_baseline_state(validator: jsonschema.protocols.Validator) -> None:
    accepted = _finding(match_key="accepted")
    old = _finding(match_key="old")
    fresh = _finding(match_key="fresh")
    doc = findings_to_sarif(
        [accepted, old, fresh],
        suppressed={accepted.fingerprint: "reviewed (alice, until 2027-01-01)"},
        new=[accepted.fingerprint, fresh.fingerprint],
    )
    validator.validate(doc)
    results = {r["partialFingerprints"][FINGERPRINT_KEY]: r for r in doc["runs"][0]["results"]}
    assert results[accepted.fingerprint]["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "reviewed (alice, until 2027-01-01)",
        }
    ]
    assert "suppressions" not in results[old.fingerprint]
    assert results[old.fingerprint]["baselineState"] == "unchanged"
    assert results[fresh.fingerprint]["baselineState"] == "new"
    assert "baselineState" not in findings_to_sarif([old])["runs"][0]["results"][0]


@settings(max_examples=40, deadline=None)
@given(st.lists(_findings, max_size=8), st.lists(st.sampled_from(["iac", "sast"]), max_size=2))
def test_streamed_log_is_the_same_document(findings: list[Finding], gates: list[str]) -> None:
    options: dict[str, Any] = {
        "gates": gates,
        "suppressed": {f.fingerprint: "accepted" for f in findings[:1]},
        "new": [f.fingerprint for f in findings[1:]],
        "source_root": Path("/srv/project"),
        "failures": {"sca": "no vulnerability database"},
        "tools": {"iac": ToolInfo("bastion/iac", extensions={"checkov": "3.3.30"})},
    }
    handle = io.StringIO()
    write_sarif(handle, findings, **options)
    streamed = json.loads(handle.getvalue())
    assert streamed == findings_to_sarif(findings, **options)
    _VALIDATOR.validate(streamed)


def test_streamed_log_has_one_line_per_result() -> None:
    findings = [_finding(match_key=str(i)) for i in range(3)]
    handle = io.StringIO()
    write_sarif(handle, findings, gates=["iac"])
    lines = handle.getvalue().splitlines()
    assert sum(1 for line in lines if line.startswith('{"ruleId"')) == 3
    assert json.loads(handle.getvalue())["runs"][0]["results"] == []  # iac ran, found nothing


def _resolve(run: dict[str, Any], location: dict[str, Any]) -> str:
    """A result's artifactLocation as an absolute URI, by SARIF 2.1.0 3.4.4 (one level)."""
    base: str = run["originalUriBaseIds"][location["uriBaseId"]]["uri"]
    relative: str = location["uri"]
    return urllib.parse.urljoin(base, relative)


def test_every_location_resolves_against_original_uri_base_ids(tmp_path: Path) -> None:
    for name in ("app/views.py", "dir with space/a#b.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    findings = [
        _finding(),
        _finding(gate="secrets", location=Location("dir with space/a#b.py", 1), match_key="s"),
    ]
    handle = io.StringIO()
    write_sarif(handle, findings, source_root=tmp_path)
    doc = json.loads(handle.getvalue())
    _VALIDATOR.validate(doc)
    resolved = []
    for run in doc["runs"]:
        for result in run["results"]:
            location = result["locations"][0]["physicalLocation"]["artifactLocation"]
            uri = _resolve(run, location)
            assert uri.startswith("file://")
            resolved.append(Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path)))
    assert sorted(resolved) == sorted(tmp_path.resolve() / f.location.path for f in findings)
    assert all(path.is_file() for path in resolved)


@settings(max_examples=30, deadline=None)
@given(st.lists(_findings, min_size=1, max_size=6))
def test_every_base_id_used_is_defined(findings: list[Finding]) -> None:
    for root in (None, Path("/srv/project")):
        for run in findings_to_sarif(findings, source_root=root)["runs"]:
            used = {
                loc["physicalLocation"]["artifactLocation"]["uriBaseId"]
                for result in run["results"]
                for loc in result.get("locations", [])
            }
            assert used <= set(run["originalUriBaseIds"])


def test_one_secret_on_seven_lines_has_seven_distinct_partial_fingerprint_sets() -> None:
    # Issue 23: identical partialFingerprints at 7 places in one file; GitHub folds them.
    findings = [
        _finding(gate="secrets", rule_id="aws-key", location=Location("conf.py", line))
        for line in range(1, 8)
    ]
    doc = findings_to_sarif(findings)
    _VALIDATOR.validate(doc)
    results = doc["runs"][0]["results"]
    partial = [tuple(sorted(r["partialFingerprints"].items())) for r in results]
    assert len(set(partial)) == 7
    # The primary fingerprint, which suppressions and baselines name, is unchanged.
    assert {r["partialFingerprints"][FINGERPRINT_KEY] for r in results} == {findings[0].fingerprint}


def test_every_run_says_whether_its_gate_decided(tmp_path: Path) -> None:
    # Issue 23: a gate that could not decide wrote an empty run that looked clean.
    doc = findings_to_sarif(
        [_finding()], gates=["sast", "iac"], failures={"sca": "no vulnerability database"}
    )
    _VALIDATOR.validate(doc)
    runs = {run["automationDetails"]["id"]: run for run in doc["runs"]}
    assert set(runs) == {"bastion/iac/", "bastion/sast/", "bastion/sca/"}
    assert runs["bastion/sast/"]["invocations"] == [{"executionSuccessful": True}]
    assert runs["bastion/iac/"]["invocations"] == [{"executionSuccessful": True}]
    (failed,) = runs["bastion/sca/"]["invocations"]
    assert failed["executionSuccessful"] is False
    (notice,) = failed["toolExecutionNotifications"]
    assert notice["level"] == "error"
    assert "no vulnerability database" in notice["message"]["text"]
    assert runs["bastion/sca/"]["results"] == []


def test_driver_version_is_bastions_and_tools_are_extensions() -> None:
    tools = {"sast": ToolInfo("bastion/sast", extensions={"semgrep": "1.1", "bandit": "1.9"})}
    doc = findings_to_sarif([_finding()], gates=["sca"], tools=tools)
    _VALIDATOR.validate(doc)
    sast, sca = doc["runs"]
    assert sast["tool"]["driver"]["version"] == __version__
    assert sast["tool"]["extensions"] == [
        {"name": "bandit", "version": "1.9"},
        {"name": "semgrep", "version": "1.1"},
    ]
    assert sca["tool"]["driver"]["version"] == __version__
    assert "extensions" not in sca["tool"]
