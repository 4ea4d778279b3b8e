"""Matching dependencies against advisories: aliases merged, fixes and upgrades computed.

>>> from bastion.scanners.sca.model import Dependency, Relation
>>> from bastion.scanners.sca.osv import Advisory, compact_record
>>> rec = {"id": "PYSEC-1", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-1"],
...        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "ranges": [
...            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}]}]}]}
>>> adv = Advisory.from_index(compact_record(rec, "PyPI", "demo"))
>>> dep = Dependency("PyPI", "demo", "requirements.txt", 1, Relation.DIRECT, version="1.0")
>>> [(m.primary_id, m.fixed_in) for m in match_dependency(dep, [adv])]
[('CVE-2024-1', '1.5')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from bastion.scanners.sca.model import Dependency
from bastion.scanners.sca.osv import Advisory, compiled, evaluate, fixed_versions
from bastion.scanners.sca.ranges import cached_parse, first_unaffected, merge
from bastion.scanners.sca.severity import SeverityJudgement, judge_severity
from bastion.scanners.sca.versions import Comparable, parse_version

__all__ = [
    "Match",
    "SortKey",
    "describe_ranges",
    "group_by_alias",
    "match_dependency",
    "primary_id",
    "smallest_fix",
    "try_parse",
]


@dataclass(frozen=True, slots=True)
class Match:
    """One vulnerability (possibly several merged records) affecting one dependency."""

    dependency: Dependency
    advisories: tuple[Advisory, ...]
    primary_id: str
    ids: tuple[str, ...]
    severity: SeverityJudgement
    affected_ranges: str
    fixed_in: str | None
    # Every affected version the specifier admits (a message shows the first few).
    admitted: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()


def primary_id(ids: Sequence[str]) -> str:
    """The id a merged vulnerability is known by: its smallest CVE, else its smallest id.

    A CVE id is the identity that outlives database re-publications (a GHSA record gaining a
    PYSEC twin), so fingerprints keyed on it survive alias merges.
    """
    cves = sorted(i for i in ids if i.startswith("CVE-"))
    return cves[0] if cves else sorted(ids)[0]


def group_by_alias(advisories: Sequence[Advisory]) -> list[list[Advisory]]:
    """Partition advisories so records sharing any id or alias are one vulnerability."""
    groups: list[tuple[set[str], list[Advisory]]] = []
    for advisory in advisories:
        ids = set(advisory.all_ids)
        joined = [g for g in groups if g[0] & ids]
        merged_ids, merged = ids, [advisory]
        for group in joined:
            merged_ids |= group[0]
            merged = group[1] + merged
            groups.remove(group)
        groups.append((merged_ids, merged))
    return [sorted(g[1], key=lambda a: a.id) for g in groups]


def try_parse(ecosystem: str, text: str) -> Comparable | None:
    """``text`` parsed with ``ecosystem``'s rules, or ``None`` when it does not parse."""
    return cached_parse(ecosystem, text)


def smallest_fix(ecosystem: str, advisories: Sequence[Advisory], above: str | None) -> str | None:
    """The smallest ``fixed`` version above ``above`` that none of ``advisories`` affects."""
    floor = try_parse(ecosystem, above) if above else None
    candidates: dict[str, Comparable] = {}
    for advisory in advisories:
        for text in fixed_versions(advisory):
            parsed = try_parse(ecosystem, text)
            if parsed is not None and (floor is None or floor < parsed):
                candidates[text] = parsed
    if not candidates:
        return None
    entries = [entry for advisory in advisories for entry in compiled(advisory, ecosystem)]
    merged = merge(iv for entry in entries for iv in entry.intervals)
    listed = frozenset(v for entry in entries for v in entry.listed)
    ordered = sorted(((v, t) for t, v in candidates.items()), key=lambda item: SortKey(item[0]))
    return first_unaffected(ordered, merged, listed)


class SortKey:
    """Sort key over parsed versions of one ecosystem; unparseable (``None``) sorts first."""

    __slots__ = ("value",)

    def __init__(self, value: Comparable | None) -> None:
        self.value = value

    @classmethod
    def of(cls, ecosystem: str, text: str) -> SortKey:
        """Key for the version ``text`` of ``ecosystem``."""
        return cls(try_parse(ecosystem, text))

    def __lt__(self, other: SortKey) -> bool:
        if self.value is None or other.value is None:
            return self.value is None and other.value is not None
        return bool(self.value < other.value)


def describe_ranges(advisory: Advisory) -> str:
    """``>=2.3.0, <2.31.0`` style text for the advisory's version ranges."""
    words = {"introduced": ">=", "fixed": "<", "last_affected": "<=", "limit": "<"}
    parts: list[str] = []
    for entry in advisory.affected:
        for events in entry.ranges:
            clauses = [f"{words[k]}{v}" for k, v in events if not (k == "introduced" and v == "0")]
            parts.append(", ".join(clauses) or "all versions")
        if not entry.ranges and entry.versions:
            parts.append(f"{len(entry.versions)} listed versions")
    return " or ".join(parts) or "unspecified"


def _admitted(dependency: Dependency, advisory: Advisory) -> tuple[str, ...]:
    """Versions a PEP 440 specifier admits that the advisory affects."""
    try:
        spec = SpecifierSet(dependency.specifier or "")
    except InvalidSpecifier:
        return ()
    candidates = {v for entry in advisory.affected for v in entry.versions}
    candidates |= {
        v
        for entry in advisory.affected
        for events in entry.ranges
        for k, v in events
        if k in ("introduced", "last_affected") and v != "0"
    }
    admitted = [
        v
        for v in candidates
        if try_parse("PyPI", v) is not None
        and spec.contains(v, prereleases=True)
        and evaluate(advisory, "PyPI", v).affected
    ]
    return tuple(sorted(admitted, key=lambda v: SortKey(parse_version("PyPI", v))))


def match_dependency(dependency: Dependency, advisories: Sequence[Advisory]) -> list[Match]:
    """Every vulnerability among ``advisories`` (one package's) that affects ``dependency``."""
    ecosystem = dependency.ecosystem
    hits: dict[str, tuple[Advisory, tuple[str, ...], tuple[str, ...]]] = {}
    for advisory in advisories:
        if dependency.version is not None:
            result = evaluate(advisory, ecosystem, dependency.version)
            if result.affected:
                hits[advisory.id] = (advisory, (), result.uncertain)
        elif ecosystem == "PyPI" and not (dependency.specifier or "").startswith("@"):
            admitted = _admitted(dependency, advisory)
            if admitted:
                hits[advisory.id] = (advisory, admitted, ())
    matches: list[Match] = []
    for group in group_by_alias([hit[0] for hit in hits.values()]):
        ids = tuple(sorted({i for a in group for i in a.all_ids}))
        admitted = tuple(dict.fromkeys(v for a in group for v in hits[a.id][1]))
        matches.append(
            Match(
                dependency=dependency,
                advisories=tuple(group),
                primary_id=primary_id(ids),
                ids=ids,
                severity=judge_severity(group),
                affected_ranges=" | ".join(dict.fromkeys(describe_ranges(a) for a in group)),
                fixed_in=smallest_fix(ecosystem, group, dependency.version),
                admitted=admitted,
                uncertain=tuple(sorted({u for a in group for u in hits[a.id][2]})),
            )
        )
    return sorted(matches, key=lambda m: m.primary_id)
