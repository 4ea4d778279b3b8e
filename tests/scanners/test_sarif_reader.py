"""SARIF in: real-world shapes read into findings; malformed logs fail closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.errors import GateError
from bastion.scanners.finding import Severity
from bastion.scanners.sarif import load_sarif, sarif_to_findings

DATA = Path(__file__).parents[1] / "data" / "sarif"


def test_semgrep_shape() -> None:
    (finding,) = load_sarif(DATA / "semgrep.sarif", gate="sast")
    assert finding.rule_id == "python.lang.security.audit.eval-detected.eval-detected"
    assert finding.gate == "sast"
    assert finding.severity is Severity.HIGH  # security-severity 8.1 beats level warning
    assert str(finding.location) == "app/views.py:12"
    assert finding.location.column == 12
    assert finding.cwe == ("CWE-95",)
    assert finding.fix == "Avoid eval on untrusted input; use ast.literal_eval."
    assert finding.properties["tool"] == "Semgrep OSS"
    assert finding.properties["help_uri"].startswith("https://semgrep.dev/r/")


def test_codeql_shape() -> None:
    injection, logging = load_sarif(DATA / "codeql.sarif", gate="sarif")
    assert injection.rule_id == "py/sql-injection"
    assert injection.severity is Severity.CRITICAL
    assert injection.message == "This SQL query depends on a user-provided value."
    assert injection.location.path == "src/db layer/query.py"  # artifact index, decoded
    assert injection.location.line == 7
    assert injection.cwe == ("CWE-89",)
    assert injection.title == "SQL query built from user-controlled sources"
    # Rule found by rule.id; result level beats the rule default; no region is fine.
    assert logging.rule_id == "py/clear-text-logging-sensitive-data"
    assert logging.severity is Severity.MEDIUM
    assert logging.location.line is None
    assert logging.cwe == ("CWE-312", "CWE-359")
    # A tool-side suppression is kept as a fact, not honoured.
    assert logging.properties["tool_suppressed"] is True


def test_minimal_log_and_absolute_uri() -> None:
    (finding,) = load_sarif(DATA / "minimal.sarif", gate="sarif")
    assert finding.severity is Severity.MEDIUM  # SARIF's default level is warning
    assert finding.location.path == "src/repo/lib/x.c"
    assert finding.message == "something odd"
    doc = json.loads((DATA / "minimal.sarif").read_text())
    (inside,) = sarif_to_findings(doc, gate="sarif", root=Path("/src/repo"))
    assert inside.location.path == "lib/x.c"


def test_partial_fingerprint_used_when_nothing_better() -> None:
    doc = json.loads((DATA / "codeql.sarif").read_text())
    first = sarif_to_findings(doc, gate="sarif")[0]
    doc["runs"][0]["artifacts"][0]["location"]["uri"] = "renamed.py"
    assert sarif_to_findings(doc, gate="sarif")[0].fingerprint == first.fingerprint


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad-truncated.sarif", r"bad-truncated\.sarif:3:1: not valid JSON"),
        ("bad-version.sarif", r"bad-version\.sarif: unsupported SARIF version '2\.0\.0'"),
        ("bad-no-runs.sarif", r"bad-no-runs\.sarif: SARIF log has no 'runs' list"),
        ("bad-result.sarif", r"bad-result\.sarif: runs\[0\]: malformed SARIF"),
        ("missing.sarif", r"missing\.sarif: SARIF file was not written"),
    ],
)
def test_malformed_logs_raise_gate_error_naming_the_file(name: str, expected: str) -> None:
    with pytest.raises(GateError, match=expected):
        load_sarif(DATA / name, gate="sarif")


def test_not_an_object_and_undecodable(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="expected a JSON object"):
        sarif_to_findings([], gate="sarif", source="x.sarif")
    binary = tmp_path / "bin.sarif"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GateError, match="cannot read SARIF"):
        load_sarif(binary, gate="sarif")


def test_message_fallbacks_and_odd_values() -> None:
    doc = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "t", "rules": [{"id": "R", "name": "Rule R"}]}},
                "results": [
                    {"ruleIndex": 0, "message": {"text": "{0} and {3}", "arguments": ["a"]}},
                    {"ruleId": "R", "message": {}, "properties": {"security-severity": "n/a"}},
                    {"message": "not an object", "level": "none"},
                ],
            }
        ],
    }
    first, second, third = sarif_to_findings(doc, gate="g")
    assert first.rule_id == "R"
    assert first.message == "a and {3}"
    assert second.message == "R"
    assert second.severity is Severity.MEDIUM  # unusable score: falls back to level
    assert third.rule_id == "sarif-result"
    assert third.severity is Severity.INFO
    assert third.location.path == ""


def test_line_text_is_read_only_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.py").write_text("secret = 1\n")
    doc = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "t"}},
                "results": [
                    {
                        "ruleId": "R",
                        "message": {"text": "m"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "../outside.py"},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (escaped,) = sarif_to_findings(doc, gate="g", root=root)
    (plain,) = sarif_to_findings(doc, gate="g")
    assert escaped.fingerprint == plain.fingerprint  # the outside file was not read


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_region = st.fixed_dictionaries(
    {}, optional={"startLine": _json, "startColumn": _json, "endLine": _json, "snippet": _json}
)
_physical = st.fixed_dictionaries(
    {},
    optional={
        "artifactLocation": st.fixed_dictionaries(
            {}, optional={"uri": _json | st.text(max_size=12), "index": _json}
        ),
        "region": _region | _json,
    },
)
_result = st.fixed_dictionaries(
    {},
    optional={
        "ruleId": _json,
        "ruleIndex": _json,
        "rule": _json,
        "kind": st.sampled_from(["fail", "pass", "review"]) | _json,
        "level": _json,
        "message": st.fixed_dictionaries({}, optional={"text": _json, "id": _json}) | _json,
        "locations": st.lists(st.fixed_dictionaries({"physicalLocation": _physical}) | _json),
        "partialFingerprints": _json,
        "fingerprints": _json,
        "properties": _json,
        "fixes": _json,
        "suppressions": _json,
    },
)
_rule = st.fixed_dictionaries(
    {},
    optional={
        "id": _json,
        "shortDescription": _json,
        "help": _json,
        "properties": _json,
        "defaultConfiguration": _json,
        "messageStrings": _json,
    },
)
_run = st.fixed_dictionaries(
    {
        "tool": st.fixed_dictionaries(
            {
                "driver": st.fixed_dictionaries(
                    {}, optional={"rules": st.lists(_rule, max_size=3) | _json}
                )
            }
        )
        | _json
    },
    optional={"results": st.lists(_result | _json, max_size=4) | _json, "artifacts": _json},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {"version": st.just("2.1.0") | _json, "runs": st.lists(_run | _json, max_size=3) | _json}
    )
)
def test_any_document_gives_findings_or_a_gate_error(doc: dict[str, object]) -> None:
    """Real-world tolerance without surprises: never a crash other than GateError."""
    error: GateError | None = None
    findings = []
    try:
        findings = sarif_to_findings(doc, gate="g", source="fuzz.sarif")
    except GateError as exc:
        error = exc
    if error is not None:
        assert error.message.startswith("fuzz.sarif")
    assert all(f.gate == "g" and f.fingerprint for f in findings)


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        ("9.0", Severity.CRITICAL),
        ("7.0", Severity.HIGH),
        ("6.9", Severity.MEDIUM),
        ("4.0", Severity.MEDIUM),
        ("0.1", Severity.LOW),
        ("0.0", Severity.INFO),
    ],
)
def test_security_severity_thresholds_match_github(score: str, severity: Severity) -> None:
    doc = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "t",
                        "rules": [{"id": "R", "properties": {"security-severity": score}}],
                    }
                },
                "results": [{"ruleId": "R", "level": "error", "message": {"text": "m"}}],
            }
        ],
    }
    (finding,) = sarif_to_findings(doc, gate="g")
    assert finding.severity is severity
