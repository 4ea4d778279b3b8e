"""OSV records: checking a raw record, compacting it for the index, and range evaluation.

    >>> adv = Advisory.from_index(compact_record({
    ...     "id": "PYSEC-0", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-1"],
    ...     "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
    ...                   "ranges": [{"type": "ECOSYSTEM",
    ...                               "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]}]},
    ...     "PyPI", "demo"))
    >>> evaluate(adv, "PyPI", "1.1").affected, evaluate(adv, "PyPI", "1.2").affected
    (True, False)

Only ``ECOSYSTEM`` and ``SEMVER`` ranges and explicit ``versions`` lists decide (``GIT``
ranges name commits, which manifests do not carry). Events are evaluated in version order as
the OSV specification describes: ``introduced`` opens, ``fixed`` closes at the version,
``last_affected`` closes after it, ``limit`` bounds the range from above.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bastion.scanners.sca.ranges import Interval, cached_parse, compile_events
from bastion.scanners.sca.versions import normalize_name

__all__ = [
    "Advisory",
    "Affected",
    "Evaluation",
    "RecordError",
    "check_record",
    "compact_record",
    "compiled",
    "evaluate",
    "fixed_versions",
]

_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_VERSION_RANGES = ("ECOSYSTEM", "SEMVER")


class RecordError(ValueError):
    """A record does not follow the OSV schema; the message says which field."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RecordError(message)


def check_record(record: object) -> Mapping[str, Any]:
    """Check the fields matching depends on; return the record typed as a mapping."""
    if not isinstance(record, dict):
        raise RecordError("a record must be a JSON/YAML object")
    _require(isinstance(record.get("id"), str) and bool(record["id"]), "'id' must be a string")
    _require(isinstance(record.get("modified"), str), "'modified' must be a timestamp string")
    _require(
        any(key in record for key in ("affected", "withdrawn", "aliases")),
        "not an OSV record: it has none of 'affected', 'withdrawn' and 'aliases'",
    )
    for field_name in ("aliases", "affected", "severity"):
        _require(isinstance(record.get(field_name, []), list), f"'{field_name}' must be a list")
    for affected in record.get("affected", []):
        _require(isinstance(affected, dict), "'affected' entries must be objects")
        package = affected.get("package", {})
        _require(isinstance(package, dict), "'affected[].package' must be an object")
        _require(
            isinstance(package.get("ecosystem", ""), str)
            and isinstance(package.get("name", ""), str),
            "'affected[].package' needs string 'ecosystem' and 'name'",
        )
        _require(isinstance(affected.get("versions", []), list), "'versions' must be a list")
        for rng in affected.get("ranges", []):
            _require(isinstance(rng, dict) and isinstance(rng.get("events"), list), "bad range")
            for event in rng["events"]:
                _require(
                    isinstance(event, dict)
                    and len(event) == 1
                    and next(iter(event)) in _EVENT_KINDS,
                    f"range event {event!r} must have exactly one of {', '.join(_EVENT_KINDS)}",
                )
    return record


def _record_severity(
    record: Mapping[str, Any], affected: Iterable[Mapping[str, Any]]
) -> str | None:
    # GHSA puts a word in database_specific.severity; some databases put it per package.
    for holder in (record, *affected):
        for key in ("database_specific", "ecosystem_specific"):
            specific = holder.get(key)
            if isinstance(specific, dict) and isinstance(specific.get("severity"), str):
                return str(specific["severity"])
    return None


def severity_evidence(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record's severity vectors and word (any package's), or None when it has neither.

    What another record aliasing this one may borrow (see ``bastion.scanners.sca.index``).
    """
    entries = list(record.get("affected", []))
    vectors = [
        {"type": str(s.get("type")), "score": str(s.get("score"))}
        for s in [*record.get("severity", []), *(x for e in entries for x in e.get("severity", []))]
    ]
    word = _record_severity(record, entries)
    if not vectors and word is None:
        return None
    return {"severity": vectors, "db_severity": word}


def compact_record(record: Mapping[str, Any], ecosystem: str, name: str) -> dict[str, Any]:
    """The part of ``record`` the index keeps for one package (``ecosystem``, ``name``)."""
    key = normalize_name(ecosystem, name)
    entries = [
        a
        for a in record.get("affected", [])
        if a.get("package", {}).get("ecosystem") == ecosystem
        and normalize_name(ecosystem, a.get("package", {}).get("name", "")) == key
    ]
    return {
        "id": record["id"],
        "aliases": sorted({str(a) for a in record.get("aliases", [])}),
        "summary": str(record.get("summary") or record.get("details", "")[:200]).strip(),
        "modified": record["modified"],
        "severity": [
            {"type": str(s.get("type")), "score": str(s.get("score"))}
            for s in [
                *record.get("severity", []),
                *(x for e in entries for x in e.get("severity", [])),
            ]
        ],
        "db_severity": _record_severity(record, entries),
        "affected": [
            {
                "versions": [str(v) for v in e.get("versions", [])],
                "ranges": [
                    {
                        "type": r.get("type"),
                        "events": [{k: str(v) for k, v in ev.items()} for ev in r["events"]],
                    }
                    for r in e.get("ranges", [])
                    if r.get("type") in _VERSION_RANGES
                ],
            }
            for e in entries
        ],
    }


@dataclass(frozen=True, slots=True)
class Affected:
    """One ``affected`` entry for a package: its version ranges and explicit versions."""

    ranges: tuple[tuple[tuple[str, str], ...], ...]
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Advisory:
    """A record as the index keeps it for one package."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    modified: str
    severity: tuple[tuple[str, str], ...]
    db_severity: str | None
    affected: tuple[Affected, ...]
    # The aliased record the severity was borrowed from, when the record had none.
    severity_from: str | None = None

    @classmethod
    def from_index(cls, data: Mapping[str, Any]) -> Advisory:
        """Build from :func:`compact_record` output."""
        return cls(
            id=data["id"],
            aliases=tuple(data["aliases"]),
            summary=data["summary"],
            modified=data["modified"],
            severity=tuple((s["type"], s["score"]) for s in data["severity"]),
            db_severity=data["db_severity"],
            affected=tuple(
                Affected(
                    ranges=tuple(
                        tuple(next(iter(ev.items())) for ev in r["events"]) for r in a["ranges"]
                    ),
                    versions=tuple(a["versions"]),
                )
                for a in data["affected"]
            ),
            severity_from=data.get("severity_from"),
        )

    @property
    def all_ids(self) -> frozenset[str]:
        """The record id and its aliases."""
        return frozenset((self.id, *self.aliases))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Whether a version is affected; ``uncertain`` names events that could not be parsed."""

    affected: bool
    uncertain: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _CompiledEntry:
    listed: frozenset[str]
    intervals: tuple[Interval, ...]
    doubtful: tuple[str, ...]


@functools.lru_cache(maxsize=16384)
def compiled(advisory: Advisory, ecosystem: str) -> tuple[_CompiledEntry, ...]:
    """Each affected entry's listed versions and range intervals, computed once."""
    entries: list[_CompiledEntry] = []
    for entry in advisory.affected:
        bad: list[str] = []
        intervals = [iv for events in entry.ranges for iv in compile_events(ecosystem, events, bad)]
        entries.append(
            _CompiledEntry(frozenset(entry.versions), tuple(intervals), tuple(sorted(set(bad))))
        )
    return tuple(entries)


def evaluate(advisory: Advisory, ecosystem: str, version: str) -> Evaluation:
    """Is ``version`` (text) of the package affected by ``advisory``?"""
    parsed = cached_parse(ecosystem, version)
    # Listed versions are compared as text, also in the parsed form's spelling ("1.0.0" for
    # "v1.0.0"), not parsed one by one: a record can list hundreds of versions.
    spellings = {version, str(parsed)} if parsed is not None else {version}
    doubtful: set[str] = set()
    for entry in compiled(advisory, ecosystem):
        if not spellings.isdisjoint(entry.listed):
            return Evaluation(True)
        doubtful.update(entry.doubtful)
        if parsed is not None and any(iv.contains(parsed) for iv in entry.intervals):
            return Evaluation(True, entry.doubtful)
    return Evaluation(False, tuple(sorted(doubtful)))


def fixed_versions(advisory: Advisory) -> list[str]:
    """Every ``fixed`` version the advisory's ranges name."""
    return [
        text
        for entry in advisory.affected
        for events in entry.ranges
        for kind, text in events
        if kind == "fixed"
    ]
