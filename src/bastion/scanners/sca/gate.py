"""The SCA gate: dependencies of a tree judged against OSV vulnerability data.

    >>> from pathlib import Path
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "requirements.txt").write_text("requests==2.19.1\\n")
    >>> gate = ScaGate(database_dir=root / "no-db-here")
    >>> report = gate.scan(ScanRequest(root=root))
    >>> sorted({f.rule_id for f in report.findings})
    ['CVE-2018-18074', 'CVE-2023-32681']
    >>> report.facts["database_bundled_snapshot"], report.facts["database_date"]
    (True, '2024-10-10')

Options (``with:``): ``exclude`` (paths or globs to skip), ``installed`` (a venv or
site-packages to judge), ``database`` (an index directory instead of ``$BASTION_HOME/osv``)
and ``require_database: true`` (fail instead of falling back to the bundled snapshot).

Fingerprints hash the vulnerability's primary id (its CVE when it has one), the ecosystem, the
normalised package name and the version (or specifier): not the manifest's path, so renaming
or moving ``requirements.txt`` keeps every finding's identity, and one triage decision
("accept CVE-X in requests 2.19.1") covers each place that pins that version. Each manifest
still gets its own finding with its own location.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bastion.errors import UsageError
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import Gate, GateReport, ScanRequest
from bastion.scanners.sca.database import Database
from bastion.scanners.sca.errors import DatabaseError
from bastion.scanners.sca.fetch import ensure_data
from bastion.scanners.sca.matcher import Match, SortKey, match_dependency, smallest_fix
from bastion.scanners.sca.model import Dependency
from bastion.scanners.sca.osv import Advisory
from bastion.scanners.sca.parsers import discover
from bastion.scanners.sca.paths import osv_dir

__all__ = ["GATE_NAME", "ScaGate", "create_gate"]

GATE_NAME = "sca"
_log = logging.getLogger("bastion.sca")
# How many admitted versions a message names before "…and N more".
_ADMITTED_SHOWN = 5


def listed(items: Sequence[str], limit: int) -> str:
    """``items`` joined by commas, complete or ending with '…and N more' (never cut silently).

    >>> listed(["2.20.0", "2.21.0", "2.22.0"], 2)
    '2.20.0, 2.21.0, …and 1 more'
    """
    shown = ", ".join(items[:limit])
    rest = len(items) - limit
    return f"{shown}, …and {rest} more" if rest > 0 else shown


@dataclass
class _PackageSummary:
    ecosystem: str
    name: str
    pinned: set[str] = field(default_factory=set)
    specifiers: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    manifests: set[str] = field(default_factory=set)
    advisories: list[Advisory] = field(default_factory=list)
    highest: Severity = Severity.INFO


def _finding(match: Match, database: tuple[str | None, str | None]) -> Finding:
    dep = match.dependency
    first = match.advisories[0]
    others = [i for i in match.ids if i != match.primary_id]
    subject = f"{dep.name} {dep.version}" if dep.version else f"{dep.name} {dep.specifier}"
    if dep.version:
        message = f"{subject} ({dep.relation}) is affected by {match.primary_id}"
        fix = f"upgrade {dep.name} to {match.fixed_in}" if match.fixed_in else None
    else:
        shown = listed(match.admitted, _ADMITTED_SHOWN)
        message = f"{subject} admits vulnerable versions ({shown}) of {match.primary_id}"
        fix = f"require {dep.name}>={match.fixed_in}" if match.fixed_in else None
    if others:
        message += f" (also {', '.join(others)})"
    if first.summary:
        message += f": {first.summary}"
    if not match.fixed_in:
        message += "; no fixed version is known"
    judgement = match.severity
    return Finding.create(
        gate=GATE_NAME,
        rule_id=match.primary_id,
        severity=judgement.severity,
        message=message,
        location=Location(dep.path, dep.line),
        match_key="|".join(
            (match.primary_id, dep.ecosystem, dep.name, dep.version or dep.specifier or "")
        ),
        title=first.summary or match.primary_id,
        ids=match.ids,
        fix=fix,
        properties={
            "ecosystem": dep.ecosystem,
            "package": dep.name,
            "version": dep.version,
            "specifier": dep.specifier,
            "relation": str(dep.relation),
            "records": [a.id for a in match.advisories],
            "affected_ranges": match.affected_ranges,
            "fixed_version": match.fixed_in,
            "admitted_versions": list(match.admitted),
            "severity_source": judgement.source,
            "cvss_score": judgement.score,
            "cvss_vector": judgement.vector,
            "uncertain_bounds": list(match.uncertain),
            "database_source": database[0],
            "database_date": database[1],
        },
    )


class ScaGate(Gate):
    """Judges every dependency manifest under the scanned tree against OSV data."""

    name = GATE_NAME
    option_keys = frozenset({"exclude", "installed", "database", "require_database"})
    list_option_keys = frozenset({"exclude"})

    def __init__(self, database_dir: Path | None = None) -> None:
        self.database_dir = database_dir

    def _dir(self) -> Path:
        return self.database_dir or osv_dir()

    def required_binds(self) -> list[Path]:
        """Host paths the sandbox must bind read-only: the vulnerability database directory.

        Empty when no database exists yet (the bundled snapshot ships inside the package).
        """
        directory = self._dir()
        return [directory] if directory.is_dir() else []

    def prepare_workspace(
        self, source: Path, staging: Path, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """On the host, before the sandboxed gate: fetch the OSV data ``source`` needs.

        Ecosystems with no data or data past its age are downloaded (:mod:`.fetch`), since
        the gate itself has no network; offline, a message says what to import instead.
        Options are returned unchanged; a pipeline's own ``database`` is never refreshed.
        """
        if options.get("database") is None:
            outcome = ensure_data(source, directory=self._dir())
            for message in outcome.messages:
                _log.warning("%s", message)
        return dict(options)

    def scan(self, request: ScanRequest) -> GateReport:
        """Find manifests under ``request.root``, match them, report findings and facts."""
        self.check_options(request.options)  # in the sandbox too: a caller may skip the host
        installed = _installed_option(request.root, request.options)
        discovery = discover(request.root, installed, _exclude_option(request.options))
        unjudged = [f"not judged: {path} — {why}" for path, why in discovery.not_judged]
        if not discovery.dependencies:
            return GateReport(
                gate=GATE_NAME,
                findings=(),
                facts={
                    "manifests": discovery.manifests,
                    "packages": 0,
                    "not_judged": _not_judged_fact(discovery.not_judged),
                },
                notes=(
                    "no dependency manifests found"
                    if not discovery.manifests
                    else "no dependencies declared",
                    *unjudged,
                ),
                notices=tuple(unjudged),
            )
        database = Database.open(_database_option(request.root, request.options) or self._dir())
        if database.bundled and request.options.get("require_database", False):
            database.close()
            raise DatabaseError(
                f"no vulnerability database in {self._dir()} and the pipeline requires one",
                hint="run `bastion db update` (or `bastion db import PATH`); inside a sandbox, "
                "check that the database directory is bound (ScaGate.required_binds)",
            )
        try:
            report = self._judge(database, discovery.manifests, discovery.dependencies)
        finally:
            database.close()
        return _with_notices(report, discovery.not_judged, unjudged)

    def _judge(
        self, database: Database, manifests: list[str], dependencies: list[Dependency]
    ) -> GateReport:
        facts: dict[str, Any] = database.describe([d.ecosystem for d in dependencies])
        notes = [_data_note(facts)]
        cache: dict[tuple[str, str], list[Advisory]] = {}
        findings: list[Finding] = []
        summaries: dict[tuple[str, str], _PackageSummary] = {}
        for dep in dependencies:
            if (dep.specifier or "").startswith("@"):
                notes.append(
                    f"{dep.path}:{dep.line or '-'}: {dep.name} {dep.specifier} has no "
                    "registry version and was not judged"
                )
                continue
            key = (dep.ecosystem, dep.name)
            if key not in cache:
                cache[key] = database.index(dep.ecosystem).lookup(dep.ecosystem, dep.name)
            for match in match_dependency(dep, cache[key]):
                findings.append(_finding(match, (facts["database_source"], facts["database_date"])))
                summary = summaries.setdefault(
                    key, _PackageSummary(dep.ecosystem, dep.name, advisories=cache[key])
                )
                if dep.version:
                    summary.pinned.add(dep.version)
                else:
                    summary.specifiers.add(dep.specifier or "")
                summary.ids.add(match.primary_id)
                summary.manifests.add(dep.path)
                if summary.highest.rank < match.severity.severity.rank:
                    summary.highest = match.severity.severity
                if match.uncertain:
                    notes.append(
                        f"{match.primary_id}: bounds {', '.join(match.uncertain)} are not valid "
                        f"{dep.ecosystem} versions; judged conservatively"
                    )
        entries = [
            _summary_entry(s)
            for s in sorted(summaries.values(), key=lambda s: (s.ecosystem, s.name))
        ]
        facts.update(
            manifests=manifests,
            packages=len({(d.ecosystem, d.name, d.version) for d in dependencies}),
            vulnerable_packages=len(summaries),
            summary=entries,
        )
        notes.extend(_summary_note(entry) for entry in entries)
        return GateReport(
            gate=GATE_NAME, findings=tuple(findings), facts=facts, notes=tuple(dict.fromkeys(notes))
        )


def _data_note(facts: Mapping[str, Any]) -> str:
    """Which data judged: each ecosystem's source and date, and, when bundled, what it is not."""
    per = facts.get("database_ecosystems", {})
    dated = ", ".join(f"{e} of {m['snapshot_date']}" for e, m in sorted(per.items()))
    if facts.get("database_bundled_snapshot"):
        return (
            f"using the bundled OSV snapshot ({dated}): a small dated sample of widely used "
            "packages' records, not coverage; run `bastion db update` for current data"
        )
    return (
        f"judged against OSV data from {facts.get('database_source')} ({dated}; "
        f"{facts.get('database_age_days')} days old)"
    )


def _not_judged_fact(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"path": path, "reason": why} for path, why in pairs]


def _with_notices(
    report: GateReport, pairs: Sequence[tuple[str, str]], unjudged: Sequence[str]
) -> GateReport:
    """Add what people must see: the data judged with, a clean verdict's scope, not judged."""
    facts = dict(report.facts)
    facts["not_judged"] = _not_judged_fact(pairs)
    notices = [report.notes[0]]
    if not report.findings and facts.get("database_bundled_snapshot"):
        # Honest about scope: "none known" in a sample is not "none".
        per = facts.get("database_ecosystems", {})
        dated = ", ".join(f"{e} of {m['snapshot_date']}" for e, m in sorted(per.items()))
        notices.append(
            f"no known vulnerabilities in the bundled data ({dated}): a sample of widely "
            "used packages' records; other packages are not covered"
        )
    notices.extend(unjudged)
    notes = tuple(dict.fromkeys([*report.notes, *notices[1:]]))
    return replace(report, facts=facts, notes=notes, notices=tuple(notices))


def _summary_entry(summary: _PackageSummary) -> dict[str, Any]:
    pinned = sorted(summary.pinned, key=lambda v: SortKey.of(summary.ecosystem, v))
    above = pinned[-1] if pinned else None
    upgrade = smallest_fix(summary.ecosystem, summary.advisories, above)
    return {
        "ecosystem": summary.ecosystem,
        "package": summary.name,
        "versions": pinned,
        "specifiers": sorted(summary.specifiers),
        "vulnerabilities": sorted(summary.ids),
        "highest_severity": summary.highest.value,
        "upgrade_to": upgrade,
        "manifests": sorted(summary.manifests),
    }


def _summary_note(entry: Mapping[str, Any]) -> str:
    """One line per vulnerable package: what it is, how many, the one upgrade fixing all."""
    current = ", ".join([*entry["versions"], *entry["specifiers"]])
    count = len(entry["vulnerabilities"])
    advice = (
        f"upgrade to {entry['upgrade_to']} fixes all known"
        if entry["upgrade_to"]
        else "no single release fixes all known; see each finding"
    )
    worst = entry["highest_severity"]
    if worst == Severity.UNKNOWN.value:
        worst = "severity unknown"
    return f"{entry['package']} {current}: {count} vulnerabilities ({worst}); {advice}"


def _installed_option(root: Path, options: Mapping[str, Any]) -> Path | None:
    value = options.get("installed")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise UsageError(
            "the sca gate's 'installed' option must be a path", hint="e.g. installed: .venv"
        )
    path = (root / value).resolve()
    if not path.is_dir():
        raise UsageError(f"the sca gate's 'installed' path {value!r} is not a directory")
    return path


def _database_option(root: Path, options: Mapping[str, Any]) -> Path | None:
    value = options.get("database")
    if value is None:
        return None
    path = (root / str(value)).resolve() if value else None
    if path is None or not any(path.glob("*.sqlite")):
        raise DatabaseError(
            f"the sca gate's 'database' {value!r} holds no vulnerability index",
            hint="point it at a directory filled by `bastion db update` or `bastion db import`",
        )
    return path


def _exclude_option(options: Mapping[str, Any]) -> tuple[str, ...]:
    value = options.get("exclude", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(
            "the sca gate's 'exclude' option must be a list of paths or globs",
            hint="e.g. exclude: [tests/data, examples]",
        )
    return tuple(value)


def create_gate() -> ScaGate:
    """Registry factory: the gate with the default database location."""
    return ScaGate()
