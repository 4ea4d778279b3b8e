"""OSV range evaluation on real records: ranges agree with explicit versions lists."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bastion.scanners.sca.osv import Advisory, RecordError, check_record, evaluate, fixed_versions

from .sca_data import OSV, advisory, record

# Withdrawn and unparseable-bound records have their own tests below.
PYPA = sorted(
    p.relative_to(OSV).as_posix()
    for p in (OSV / "pypa").rglob("*.yaml")
    if p.parent.name not in ("aiohttp", "binderhub")
)


def _ranges_only(adv: Advisory) -> Advisory:
    return dataclasses.replace(
        adv, affected=tuple(dataclasses.replace(a, versions=()) for a in adv.affected)
    )


@pytest.mark.parametrize("path", PYPA)
def test_ranges_agree_with_the_explicit_versions_list(path: str) -> None:
    adv = advisory(path)
    assert not record(path).get("withdrawn")
    listed = [v for a in adv.affected for v in a.versions]
    assert listed, "every fixture here has an explicit versions list"
    ranges = _ranges_only(adv)
    for version in listed:
        assert evaluate(adv, "PyPI", version).affected
        if any(r for a in adv.affected for r in a.ranges):
            assert evaluate(ranges, "PyPI", version).affected, version
    for fixed in fixed_versions(adv):
        assert not evaluate(adv, "PyPI", fixed).affected


def test_last_affected_is_inclusive() -> None:
    adv = _ranges_only(advisory("pypa/py/PYSEC-2022-42969.yaml"))
    assert evaluate(adv, "PyPI", "1.11.0").affected
    assert not evaluate(adv, "PyPI", "1.11.1").affected
    assert fixed_versions(adv) == []


def test_unparseable_bound_is_judged_conservatively() -> None:
    adv = advisory("pypa/binderhub/PYSEC-2021-371.yaml")
    result = evaluate(adv, "PyPI", "0.2.0")
    assert result.affected
    assert result.uncertain == ("0.2.0-n653",)


def test_go_semver_ranges_with_pseudo_versions() -> None:
    gin = advisory("go/GO-2020-0001.json")
    assert evaluate(gin, "Go", "v1.5.0").affected
    assert not evaluate(gin, "Go", "v1.6.0").affected
    rancher = advisory("go/GO-2022-0755.json")
    assert evaluate(rancher, "Go", "v2.2.4+incompatible").affected
    assert not evaluate(rancher, "Go", "v2.2.5+incompatible").affected


def test_crates_ranges() -> None:
    adv = advisory("crates/RUSTSEC-2023-0090.json")
    fixed = fixed_versions(adv)
    assert fixed
    assert not evaluate(adv, "crates.io", fixed[0]).affected


def _with(events: list[dict[str, str]], versions: list[str] | None = None) -> dict[str, Any]:
    affected: dict[str, Any] = {
        "package": {"ecosystem": "npm", "name": "demo"},
        "ranges": [{"type": "SEMVER", "events": events}],
    }
    if versions is not None:
        affected["versions"] = versions
    return {"id": "T-1", "modified": "2024-01-01T00:00:00Z", "affected": [affected]}


def _adv(raw: dict[str, Any]) -> Advisory:
    from bastion.scanners.sca.osv import compact_record

    return Advisory.from_index(compact_record(check_record(raw), "npm", "demo"))


def test_limit_and_multiple_intervals() -> None:
    adv = _adv(
        _with(
            [
                {"introduced": "1.0.0"},
                {"fixed": "1.2.0"},
                {"introduced": "2.0.0"},
                {"limit": "2.5.0"},
            ]
        )
    )
    assert [
        evaluate(adv, "npm", v).affected for v in ("0.9.0", "1.1.0", "1.2.0", "2.1.0", "2.5.0")
    ] == [
        False,
        True,
        False,
        True,
        False,
    ]


def test_npm_prerelease_precedence_in_ranges() -> None:
    adv = _adv(_with([{"introduced": "0"}, {"fixed": "2.0.0"}]))
    assert evaluate(adv, "npm", "2.0.0-rc.1").affected
    assert not evaluate(adv, "npm", "2.0.0").affected


def test_invalid_dependency_version_matches_only_listed_versions() -> None:
    adv = _adv(_with([{"introduced": "0"}], versions=["banana"]))
    assert evaluate(adv, "npm", "banana").affected
    assert not evaluate(adv, "npm", "cherry").affected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "object"),
        ({"modified": "x"}, "'id'"),
        ({"id": "X"}, "'modified'"),
        ({"id": "X", "modified": "x", "aliases": "CVE-1"}, "'aliases'"),
        ({"id": "X", "modified": "x", "affected": ["x"]}, "objects"),
        ({"id": "X", "modified": "x", "affected": [{"package": {"name": 3}}]}, "string"),
        (
            {
                "id": "X",
                "modified": "x",
                "affected": [{"ranges": [{"events": [{"fixed": "1", "introduced": "0"}]}]}],
            },
            "exactly one",
        ),
        (
            {"id": "X", "modified": "x", "affected": [{"ranges": [{"type": "ECOSYSTEM"}]}]},
            "bad range",
        ),
    ],
)
def test_malformed_records(raw: Any, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        check_record(raw)
