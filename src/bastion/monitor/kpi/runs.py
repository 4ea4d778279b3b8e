"""The KPIs of the run records (runs, jobs, findings tables).

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

Each reads columns, never mapped objects, and aggregates in SQL where the database can:
100,000 runs are read as plain tuples once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

from sqlalchemy import Select, func, select

from bastion.store import Database, FindingRecord, JobRecord, RunRecord

if TYPE_CHECKING:
    from bastion.monitor.kpi.report import KpiReport

__all__ = ["FINAL", "RunRow", "run_kpis"]

FINAL = ("passed", "failed", "blocked", "cancelled", "error")
_BEFORE = frozenset({"untrusted", "internal"})
_Ts = TypeVarTuple("_Ts")
_T = TypeVar("_T")
_Keyed = dict[tuple[str, str], _T]  # by (repository, fingerprint or job name)


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass(frozen=True, slots=True)
class RunRow:
    """The columns of a finished run the KPIs read."""

    id: int
    repo: str
    trust: str
    status: str
    created_at: datetime


def _scoped(query: Select[*_Ts], since: datetime | None, repo: str | None) -> Select[*_Ts]:
    """``query`` limited to finished runs created since ``since`` (of ``repo``)."""
    query = query.where(RunRecord.status.in_(FINAL))
    if since is not None:
        query = query.where(RunRecord.created_at >= since)
    if repo is not None:
        query = query.where(RunRecord.repo == repo)
    return query


def _runs(db: Database, since: datetime | None, repo: str | None) -> list[RunRow]:
    r = RunRecord
    query = _scoped(select(r.id, r.repo, r.trust, r.status, r.created_at), since, repo)
    with db.session() as session:
        return [RunRow(*row) for row in session.execute(query.order_by(r.id))]


def _adoption(report: KpiReport, db: Database, since: datetime | None, repo: str | None) -> None:
    r, j = RunRecord, JobRecord
    scope = _scoped(select(r.id), since, repo)
    pipelines = _scoped(select(r.repo, r.pipeline_digest), since, repo).distinct().subquery()
    adopted = (
        select(r.repo, r.pipeline_digest, j.name)
        .join(j, j.run_id == r.id)
        .where(j.kind == "gate", r.id.in_(scope))
        .distinct()
        .subquery()
    )
    with db.session() as session:
        report.pipelines = session.scalar(select(func.count()).select_from(pipelines)) or 0
        counts = session.execute(
            select(adopted.c.name, func.count()).group_by(adopted.c.name).order_by(adopted.c.name)
        )
        report.gate_adoption = {name: _pct(n, report.pipelines) for name, n in counts}


def _occurrences(
    db: Database, since: datetime | None, repo: str | None
) -> tuple[_Keyed[list[int]], _Keyed[tuple[str, str]], _Keyed[list[int]]]:
    """Per (repo, fingerprint) the runs carrying it (ascending); each fingerprint's job and
    severity at first sight; per (repo, job) with findings, the runs that ran that job."""
    r, f, j = RunRecord, FindingRecord, JobRecord
    scope = _scoped(select(r.id), since, repo)
    found = (
        select(f.run_id, r.repo, f.fingerprint, f.job, f.severity)
        .join(r, r.id == f.run_id)
        .where(f.suppressed.is_(False), f.run_id.in_(scope))
        .order_by(f.run_id, f.id)
    )
    carried: dict[tuple[str, str], list[int]] = defaultdict(list)
    first: dict[tuple[str, str], tuple[str, str]] = {}
    jobs: set[str] = set()
    with db.session() as session:
        for run_id, run_repo, fingerprint, job, severity in session.execute(found):
            key = (run_repo, fingerprint)
            if not carried[key] or carried[key][-1] != run_id:
                carried[key].append(run_id)
            first.setdefault(key, (job, severity))
            jobs.add(job)
        ran: _Keyed[list[int]] = defaultdict(list)
        if jobs:
            rows = session.execute(
                select(j.run_id, r.repo, j.name)
                .join(r, r.id == j.run_id)
                .where(j.kind == "gate", j.name.in_(sorted(jobs)), j.run_id.in_(scope))
                .distinct()
                .order_by(j.run_id)
            )
            for run_id, run_repo, name in rows:
                ran[(run_repo, name)].append(run_id)
    return carried, first, ran


def _detection_and_mttr(
    report: KpiReport, runs: dict[int, RunRow], db: Database,
    since: datetime | None, repo: str | None,
) -> None:  # fmt: skip
    """Walk each fingerprint's runs along the runs of its gate job: an episode starts at a
    run carrying it and ends at the first later run of that job without it (fixed)."""
    carried, first, ran = _occurrences(db, since, repo)
    fixed_hours: dict[str, list[float]] = defaultdict(list)
    for (run_repo, fingerprint), run_ids in carried.items():
        job, severity = first[(run_repo, fingerprint)]
        sequence = ran.get((run_repo, job), [])
        position = {run_id: i for i, run_id in enumerate(sequence)} if sequence else {}
        present = set(run_ids)
        index = 0
        while index < len(run_ids):
            start = runs[run_ids[index]]
            if start.trust in _BEFORE:
                report.found_before += 1
            else:
                report.found_after += 1
            at = position.get(run_ids[index], -1)
            while 0 <= at < len(sequence) and sequence[at] in present:
                at += 1
            if at < 0 or at >= len(sequence):
                report.open_findings[severity] = report.open_findings.get(severity, 0) + 1
                break
            fix = runs[sequence[at]]
            fixed_hours[severity].append((fix.created_at - start.created_at).total_seconds() / 3600)
            index = next((i for i, rid in enumerate(run_ids) if rid > fix.id), len(run_ids))
    report.mttr_hours = {sev: round(sum(h) / len(h), 2) for sev, h in sorted(fixed_hours.items())}
    report.open_findings = dict(sorted(report.open_findings.items()))


def _compliance_and_failures(report: KpiReport, runs: list[RunRow]) -> None:
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


def run_kpis(report: KpiReport, db: Database, since: datetime | None, repo: str | None) -> None:
    """Fill the run-record KPIs of ``report``."""
    runs = _runs(db, since, repo)
    report.runs = len(runs)
    if not runs:
        return
    _adoption(report, db, since, repo)
    _detection_and_mttr(report, {run.id: run for run in runs}, db, since, repo)
    _compliance_and_failures(report, runs)
