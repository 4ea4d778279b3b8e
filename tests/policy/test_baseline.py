"""Baseline files: fingerprint lists, bastion JSON reports, Bastion SARIF; anything else fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.errors import PolicyError
from bastion.policy import Baseline, load_baseline_file


def _write(tmp_path: Path, doc: object) -> Path:
    target = tmp_path / "baseline.json"
    target.write_text(json.dumps(doc))
    return target


def test_list_of_fingerprints(tmp_path: Path) -> None:
    baseline = load_baseline_file(_write(tmp_path, ["a", "b"]))
    assert baseline.fingerprints == {"a", "b"}
    assert not baseline.is_new("a")
    assert baseline.is_new("c")


def test_scan_report(tmp_path: Path) -> None:
    doc = {"decision": {}, "findings": [{"fingerprint": "a"}, {"fingerprint": "b"}]}
    assert load_baseline_file(_write(tmp_path, doc)).fingerprints == {"a", "b"}


def test_bastion_sarif(tmp_path: Path) -> None:
    doc = {
        "version": "2.1.0",
        "runs": [{"results": [{"partialFingerprints": {"bastion/v1": "a"}}]}, {"results": []}],
    }
    assert load_baseline_file(_write(tmp_path, doc)).fingerprints == {"a"}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"version": "2.1.0", "runs": [{"results": [{"ruleId": "x"}]}]}, "no Bastion fingerprint"),
        ({"version": "2.1.0", "runs": [{"results": 3}]}, "has no results list"),
        ({"something": "else"}, "not a baseline"),
        ([1, 2], "must be a non-empty string"),
        ({"findings": [{"rule": "x"}]}, "must be a non-empty string"),
    ],
)
def test_unusable_baselines(tmp_path: Path, doc: object, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        load_baseline_file(_write(tmp_path, doc))


def test_missing_and_not_json(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="baseline file not found"):
        load_baseline_file(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1,")
    with pytest.raises(PolicyError, match=r"bad\.json:1:\d+: baseline is not JSON"):
        load_baseline_file(bad)


def test_of() -> None:
    assert Baseline.of(["x"], "git:main").source == "git:main"
