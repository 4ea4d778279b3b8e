"""Finding fingerprints stay put when unrelated lines move or the file is renamed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.sarif import sarif_to_findings

SOURCE = "import os\n\n\ndef handler(request):\n    return eval(request.args['q'])\n"


def _tool_sarif(path: str, line: int) -> dict[str, Any]:
    """What a third-party scanner writes: a location, no snippet, no fingerprint of ours."""
    return {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "tool"}},
                "results": [
                    {
                        "ruleId": "py-eval",
                        "level": "error",
                        "message": {"text": "eval of request data"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": path},
                                    "region": {"startLine": line},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }


def _scan(root: Path, path: str, line: int) -> Finding:
    (finding,) = sarif_to_findings(_tool_sarif(path, line), gate="sarif", root=root)
    return finding


def test_fingerprint_survives_moved_lines_and_rename(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    (before / "app.py").write_text(SOURCE)
    after = tmp_path / "after"
    (after / "pkg").mkdir(parents=True)
    # Ten unrelated lines above, deeper indentation, and a new file name.
    moved = "# header\n" * 10 + SOURCE.replace("    return", "        return")
    (after / "pkg" / "views.py").write_text(moved)

    original = _scan(before, "app.py", 5)
    relocated = _scan(after, "pkg/views.py", 15)

    assert original.location != relocated.location
    assert original.fingerprint == relocated.fingerprint


def test_fingerprint_changes_when_the_flagged_code_changes(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SOURCE)
    first = _scan(tmp_path, "app.py", 5)
    (tmp_path / "app.py").write_text(SOURCE.replace("'q'", "'query'"))
    assert _scan(tmp_path, "app.py", 5).fingerprint != first.fingerprint


def test_fingerprint_separates_rules_and_gates() -> None:
    def make(gate: str, rule: str) -> str:
        return Finding.create(
            gate=gate,
            rule_id=rule,
            severity=Severity.LOW,
            message="m",
            location=Location("a.py", 1),
            match_key="x = 1",
        ).fingerprint

    assert len({make("sast", "r1"), make("sast", "r2"), make("iac", "r1")}) == 3


@given(
    key=st.text(min_size=1, max_size=40),
    indent=st.text(alphabet=" \t", max_size=8),
    line=st.integers(min_value=1, max_value=10_000),
    path=st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8}){0,3}\.py", fullmatch=True),
)
def test_fingerprint_ignores_location_and_indentation(
    key: str, indent: str, line: int, path: str
) -> None:
    base = Finding.create(
        gate="sast",
        rule_id="r",
        severity=Severity.HIGH,
        message="m",
        location=Location("x.py", 1),
        match_key=key,
    )
    moved = Finding.create(
        gate="sast",
        rule_id="r",
        severity=Severity.HIGH,
        message="other words",
        location=Location(path, line),
        match_key=indent + key + indent,
    )
    assert base.fingerprint == moved.fingerprint


def test_dict_round_trip_is_json_safe() -> None:
    finding = Finding.create(
        gate="sca",
        rule_id="PYSEC-2021-1",
        severity=Severity.CRITICAL,
        message="vulnerable",
        location=Location("requirements.txt", 3, 1, 3, "abc123"),
        match_key="jinja2==2.10",
        cwe=("CWE-79",),
        ids=("CVE-2019-10906",),
        fix="upgrade to 2.10.1",
        properties={"package": "jinja2"},
    )
    assert Finding.from_dict(json.loads(json.dumps(finding.to_dict()))) == finding


@pytest.mark.parametrize("path", ["/etc/passwd", "a\\b.py"])
def test_location_rejects_non_relative_paths(path: str) -> None:
    with pytest.raises(ValueError, match="repository-relative"):
        Location(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("location", "app.py"),
        ("fix", 3),
        ("cwe", "CWE-79"),
        ("ids", [1]),
    ],
)
def test_from_dict_checks_types(field: str, value: object) -> None:
    data = Finding.create(
        gate="g",
        rule_id="r",
        severity=Severity.LOW,
        message="m",
        location=Location("a.py", 1),
        match_key="k",
    ).to_dict()
    data[field] = value
    with pytest.raises(ValueError, match=r"expected|must be"):
        Finding.from_dict(data)


@pytest.mark.parametrize("line", ["3", True, 1.5])
def test_from_dict_checks_line_numbers(line: object) -> None:
    data = Finding.create(
        gate="g",
        rule_id="r",
        severity=Severity.LOW,
        message="m",
        location=Location("a.py", 1),
        match_key="k",
    ).to_dict()
    data["location"]["line"] = line
    with pytest.raises(ValueError, match="expected an integer"):
        Finding.from_dict(data)
