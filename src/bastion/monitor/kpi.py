"""Security KPIs from the run records (runs, jobs, findings tables).

    >>> report = compute_kpis(db, since=None, repo=None)          # doctest: +SKIP
    >>> report.to_dict()["compliance"]["overall"]

Definitions (each says "no data" instead of failing on an empty database):

- gate adoption: of the distinct pipelines (repository, pipeline digest) run, the percentage
  with a gate job of each name;
- before vs after production: findings (unsuppressed, by fingerprint) first detected in a run
  of trust untrusted/internal (before: a branch or pull request) or trusted/release (after:
  the protected branch or a release already carries them);
- MTTR per severity: hours from a fingerprint's first detection to the first later finished
  run of the same repository and gate job without it; still-open fingerprints are counted
  apart, never averaged in;
- policy compliance: per repository and overall, the percentage of finished runs not blocked;
- failures: runs blocked by security gates against runs failed otherwise, per day (trend).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bastion.store import Database, FindingRecord, JobRecord, RunRecord

__all__ = ["KpiReport", "compute_kpis"]

_FINAL = ("passed", "failed", "blocked", "cancelled", "error")
_BEFORE = frozenset({"untrusted", "internal"})


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass
class KpiReport:
    """The KPIs; with ``no_data`` every number is zero and every map empty."""

    runs: int = 0
    gate_adoption: dict[str, float] = field(default_factory=dict)
    pipelines: int = 0
    found_before: int = 0
    found_after: int = 0
    mttr_hours: dict[str, float] = field(default_factory=dict)
    open_findings: dict[str, int] = field(default_factory=dict)
    compliance: dict[str, float] = field(default_factory=dict)
    compliance_overall: float = 0.0
    failures: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def no_data(self) -> bool:
        """True when no finished run matched."""
        return self.runs == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the API and ``bastion kpi --json``)."""
        return {
            "no_data": self.no_data,
            "runs": self.runs,
            "gate_adoption": {"pipelines": self.pipelines, "percent": self.gate_adoption},
            "detection": {
                "before_production": self.found_before,
                "after_production": self.found_after,
            },
            "mttr_hours": self.mttr_hours,
            "open_findings": self.open_findings,
            "compliance": {"overall": self.compliance_overall, "by_repo": self.compliance},
            "failures_by_day": self.failures,
        }


def _runs(db: Database, since: datetime | None, repo: str | None) -> list[RunRecord]:
    query = select(RunRecord).where(RunRecord.status.in_(_FINAL)).order_by(RunRecord.id)
    if since is not None:
        query = query.where(RunRecord.created_at >= since)
    if repo is not None:
        query = query.where(RunRecord.repo == repo)
    with db.session() as session:
        return list(session.scalars(query))


def _gates(db: Database, run_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    with db.session() as session:
        rows = session.execute(
            select(JobRecord.run_id, JobRecord.name).where(JobRecord.kind == "gate")
        )
        for run_id, name in rows:
            out[run_id].add(name)
    wanted = set(run_ids)
    return {k: v for k, v in out.items() if k in wanted}


def _adoption(report: KpiReport, runs: list[RunRecord], gates: dict[int, set[str]]) -> None:
    pipelines: dict[tuple[str, str], set[str]] = {}
    for run in runs:
        pipelines.setdefault((run.repo, run.pipeline_digest), set()).update(gates.get(run.id, ()))
    report.pipelines = len(pipelines)
    names = sorted({g for found in pipelines.values() for g in found})
    for name in names:
        count = sum(1 for found in pipelines.values() if name in found)
        report.gate_adoption[name] = _pct(count, len(pipelines))


def _findings(db: Database, run_ids: list[int]) -> dict[int, list[FindingRecord]]:
    out: dict[int, list[FindingRecord]] = defaultdict(list)
    wanted = set(run_ids)
    with db.session() as session:
        for row in session.scalars(
            select(FindingRecord).where(FindingRecord.suppressed.is_(False))
        ):
            if row.run_id in wanted:
                out[row.run_id].append(row)
    return out


def _detection_and_mttr(
    report: KpiReport,
    runs: list[RunRecord],
    findings: dict[int, list[FindingRecord]],
    gates: dict[int, set[str]],
) -> None:
    first: dict[tuple[str, str], tuple[RunRecord, FindingRecord]] = {}
    fixed_hours: dict[str, list[float]] = defaultdict(list)
    for run in runs:  # oldest first
        present = {(run.repo, f.fingerprint) for f in findings.get(run.id, ())}
        for key, (seen_in, finding) in list(first.items()):
            if key[0] == run.repo and key not in present and finding.job in gates.get(run.id, ()):
                hours = (run.created_at - seen_in.created_at).total_seconds() / 3600
                fixed_hours[finding.severity].append(hours)
                del first[key]
        for finding in findings.get(run.id, ()):
            key = (run.repo, finding.fingerprint)
            if key not in first:
                first[key] = (run, finding)
                if run.trust in _BEFORE:
                    report.found_before += 1
                else:
                    report.found_after += 1
    report.mttr_hours = {sev: round(sum(h) / len(h), 2) for sev, h in sorted(fixed_hours.items())}
    for _run, finding in first.values():
        report.open_findings[finding.severity] = report.open_findings.get(finding.severity, 0) + 1


def _compliance_and_failures(report: KpiReport, runs: list[RunRecord]) -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for run in runs:
        totals[run.repo][0] += 1
        totals[run.repo][1] += run.status != "blocked"
        day = run.created_at.date().isoformat()
        bucket = report.failures.setdefault(day, {"security": 0, "other": 0})
        if run.status == "blocked":
            bucket["security"] += 1
        elif run.status in {"failed", "error"}:
            bucket["other"] += 1
    report.compliance = {repo: _pct(ok, n) for repo, (n, ok) in sorted(totals.items())}
    all_runs = sum(n for n, _ok in totals.values())
    report.compliance_overall = _pct(sum(ok for _n, ok in totals.values()), all_runs)


def compute_kpis(
    db: Database, *, since: datetime | None = None, repo: str | None = None
) -> KpiReport:
    """Every KPI over the finished runs created since ``since`` (of ``repo``, if given)."""
    report = KpiReport()
    runs = _runs(db, since, repo)
    report.runs = len(runs)
    if not runs:
        return report
    ids = [run.id for run in runs]
    gates = _gates(db, ids)
    _adoption(report, runs, gates)
    _detection_and_mttr(report, runs, _findings(db, ids), gates)
    _compliance_and_failures(report, runs)
    return report
