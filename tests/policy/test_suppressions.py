"""Suppressions: owner, reason and expiry required; expired ones stop suppressing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.errors import PolicyError
from bastion.policy import load_suppressions, suppression_notes
from bastion.policy.suppressions import Suppressions, glob_to_regex

DATA = Path(__file__).parents[1] / "data" / "policy" / "suppressions"
TODAY = dt.date(2026, 11, 22)


@dataclass(frozen=True)
class _Loc:
    path: str
    line: int | None = None


@dataclass(frozen=True)
class _Finding:
    fingerprint: str
    rule_id: str
    gate: str
    location: _Loc
    properties: Mapping[str, Any] = field(default_factory=dict)


def _f(fp: str = "ff", rule: str = "r", gate: str = "sast", path: str = "a.py") -> _Finding:
    return _Finding(fp, rule, gate, _Loc(path))


def test_valid_file_and_matching() -> None:
    sup = load_suppressions(DATA / "valid.yml")
    assert len(sup.entries) == 3
    by_fp = sup.match(_f("00112233445566778899aabbccddeeff"), TODAY)
    assert by_fp.suppressed
    assert by_fp.active is not None
    assert by_fp.active.owner == "alice@example.com"
    assert by_fp.active.source.endswith("valid.yml:2")
    assert sup.match(_f(rule="py-assert-used", path="tests/unit/test_x.py"), TODAY).suppressed
    assert not sup.match(_f(rule="py-assert-used", path="src/x.py"), TODAY).suppressed
    assert not sup.match(_f(rule="py-assert-used", gate="iac", path="tests/x.py"), TODAY).suppressed


def test_expired_entry_stops_suppressing_and_says_so() -> None:
    sup = load_suppressions(DATA / "valid.yml")
    match = sup.match(_f(rule="py-eval", path="legacy/old.py"), TODAY)
    assert not match.suppressed
    assert match.expired is not None
    assert match.expired.owner == "bob"
    assert match.expired.expires == dt.date(2020, 1, 1)
    assert match.expired.target() == "py-eval on legacy/*.py"
    # the last day still applies; the day after does not
    entry = sup.entries[0]
    assert not entry.expired_on(entry.expires)
    assert entry.expired_on(entry.expires + dt.timedelta(days=1))
    notes = suppression_notes(sup.entries, TODAY)
    assert [n["status"] for n in notes] == ["active", "active", "expired"]


def test_no_file_means_no_suppressions(tmp_path: Path) -> None:
    assert load_suppressions(tmp_path / "absent.yml").entries == ()
    empty = tmp_path / "empty.yml"
    empty.write_text("# nothing yet\n")
    assert load_suppressions(empty).entries == ()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("no-reason.yml", r"no-reason\.yml:2: suppression has no reason"),
        ("no-expiry.yml", r"no-expiry\.yml:2: suppression has no expires"),
        ("typo.yml", r"typo\.yml:2: unknown key 'expiry'"),
        ("both.yml", r"both\.yml:2: a suppression names either a fingerprint or a rule"),
        ("rule-no-path.yml", r"rule-no-path\.yml:2: a rule suppression needs both"),
        ("bad-date.yml", r"bad-date\.yml:2: expires 'next year' is not a date"),
        ("not-mapping.yml", r"not-mapping\.yml:1: expected a mapping"),
        ("bad-yaml.yml", r"bad-yaml\.yml:\d+: not valid YAML"),
        ("item-not-mapping.yml", r"item-not-mapping\.yml:2: a suppression must be a mapping"),
    ],
)
def test_malformed_files_name_file_and_line(name: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        load_suppressions(DATA / name)


@pytest.mark.parametrize("reason", ["''", "'   '", "null"])
def test_blank_reason_is_missing(tmp_path: Path, reason: str) -> None:
    target = tmp_path / "s.yml"
    target.write_text(
        "suppressions:\n  - fingerprint: a\n    owner: o\n"
        f"    reason: {reason}\n    expires: 2030-01-01\n"
    )
    with pytest.raises(PolicyError, match=r"s\.yml:2: suppression has no reason"):
        load_suppressions(target)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("tests/**", "tests/a/b.py", True),
        ("tests/**", "src/tests/a.py", False),
        ("**/test_*.py", "test_a.py", True),
        ("**/test_*.py", "x/y/test_a.py", True),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),
        ("a?.py", "ab.py", True),
        ("a?.py", "a/.py", False),
        ("docs/[x].md", "docs/[x].md", True),
    ],
)
def test_glob(pattern: str, path: str, matches: bool) -> None:
    assert (glob_to_regex(pattern).fullmatch(path) is not None) is matches


@given(st.from_regex(r"[a-z0-9_.-]{1,10}(/[a-z0-9_.-]{1,10}){0,3}", fullmatch=True))
def test_literal_paths_match_themselves_and_double_star_matches_all(path: str) -> None:
    assert glob_to_regex(path).fullmatch(path)
    assert glob_to_regex("**").fullmatch(path)


def _marked(marker: str = "# nosec B602") -> _Finding:
    line = f"subprocess.run(cmd, shell=True)  {marker}"
    recorded = {"inline_suppression": {"marker": marker, "line": line}}
    return _Finding("ab", "B602", "sast", _Loc("app/run.py", 12), recorded)


def test_inline_marker_is_a_suppression_owned_by_inline_with_the_line_as_reason() -> None:
    match = Suppressions().match(_marked(), TODAY)
    assert match.active is not None
    assert match.active.owner == "inline"
    assert match.active.reason == "subprocess.run(cmd, shell=True)  # nosec B602"
    assert match.active.inline
    assert match.active.describe() == "inline in the source (app/run.py:12)"
    assert not Suppressions().match(_f(), TODAY).suppressed


def test_inline_suppressions_false_refuses_markers(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.yml"
    path.write_text("inline_suppressions: false\n")
    refused = load_suppressions(path)
    assert not refused.inline
    assert not refused.match(_marked(), TODAY).suppressed
    path.write_text("inline_suppressions: true\nsuppressions: []\n")
    assert load_suppressions(path).match(_marked(), TODAY).suppressed


def test_inline_suppressions_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.yml"
    path.write_text("inline_suppressions: no-thanks\n")
    with pytest.raises(PolicyError, match="true or false"):
        load_suppressions(path)


def test_a_file_entry_wins_over_an_inline_marker() -> None:
    entry = load_suppressions(DATA / "valid.yml").entries[0]
    finding = _marked()
    sup = Suppressions((entry,))
    assert entry.fingerprint is not None
    pinned = _Finding(entry.fingerprint, "B602", "sast", _Loc("app/run.py", 12), finding.properties)
    active = sup.match(pinned, TODAY).active
    assert active is not None
    assert not active.inline
