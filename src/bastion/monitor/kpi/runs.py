"""The KPIs of the run records (runs, jobs, findings tables).

- gate adoption: of the distinct pipelines (repository, pipeline digest) run, the percentage
  with a gate job of each name, read from each pipeline's latest finished run (a pipeline
  digest fixes the file, so its jobs);
- before vs after production: findings (unsuppressed, by fingerprint) first detected in a run
  of trust untrusted/internal (before: a branch or pull request) or trusted/release (after:
  the protected branch or a release already carries them);
- MTTR per severity: hours from a fingerprint's first detection to the first later finished
  run of the same repository and gate job without it; still-open fingerprints are counted
  apart, never averaged in;
- policy compliance: per repository and overall, the percentage of finished runs not blocked;
- failures: runs blocked by security gates against runs failed otherwise, per day (trend).

Each aggregates in SQL and reads plain columns, never mapped objects: over 100,000 runs only
the findings (with, by a window function, the next run of the same gate job) and a few
hundred rows of aggregates reach Python.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVarTuple

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import aliased

from bastion.monitor.kpi.facts import FINAL
from bastion.monitor.kpi.lookups import chunks
from bastion.monitor.models import RunFactRecord
from bastion.store import Database, FindingRecord

if TYPE_CHECKING:
    from bastion.monitor.kpi.report import KpiReport

__all__ = ["FINAL", "run_kpis"]

_BEFORE = frozenset({"untrusted", "internal"})
_Ts = TypeVarTuple("_Ts")


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _scoped(query: Select[*_Ts], since: datetime | None, repo: str | None) -> Select[*_Ts]:
    """``query`` limited to the finished runs created since ``since`` (of ``repo``)."""
    if since is not None:
        query = query.where(RunFactRecord.created_at >= since)
    if repo is not None:
        query = query.where(RunFactRecord.repo == repo)
    return query


def _names(listed: str) -> list[str]:
    """The names of a ``,a,b,`` list."""
    return [name for name in listed.split(",") if name]


def _adoption(report: KpiReport, db: Database, since: datetime | None, repo: str | None) -> None:
    r = RunFactRecord
    latest = _scoped(select(func.max(r.run_id)), since, repo).group_by(r.repo, r.pipeline_digest)
    counts: dict[str, int] = defaultdict(int)
    with db.session() as session:
        lists = list(session.scalars(select(r.gates).where(r.run_id.in_(latest))))
    for listed in lists:
        for name in set(_names(listed)):
            counts[name] += 1
    report.pipelines = len(lists)
    report.gate_adoption = {name: _pct(n, len(lists)) for name, n in sorted(counts.items())}


@dataclass(frozen=True, slots=True)
class _Seen:
    """One run carrying a fingerprint, and the next finished run of the same gate job."""

    run: int
    at: datetime
    trust: str
    severity: str
    next_run: int | None


def _next_with_job(
    db: Database, repo: str, run_id: int, job: str, since: datetime | None
) -> int | None:
    """The next finished run of ``repo`` after ``run_id`` that ran gate job ``job``."""
    r = RunFactRecord
    query = _scoped(select(func.min(r.run_id)), since, repo).where(
        r.run_id > run_id, r.gates.contains(f",{job},", autoescape=True)
    )
    with db.session() as session:
        return session.scalar(query)


def _occurrences(
    db: Database, since: datetime | None, repo: str | None
) -> dict[tuple[str, str], list[_Seen]]:
    """Per (repository, fingerprint), the runs carrying it, oldest first, each with the
    next run of its gate job: the repository's next run (one window over the summary),
    or, when that run did not run the job, looked up further."""
    r, f, following = RunFactRecord, FindingRecord, aliased(RunFactRecord)
    nxt = func.lead(r.run_id).over(partition_by=r.repo, order_by=r.run_id)
    ranked = _scoped(
        select(r.run_id, r.repo, r.created_at, r.trust, nxt.label("nxt")), since, repo
    ).subquery()
    found = (
        select(ranked.c.repo, f.fingerprint, f.run_id, ranked.c.created_at, ranked.c.trust,
               f.severity, ranked.c.nxt, following.gates, f.job)
        .join(ranked, ranked.c.run_id == f.run_id)
        .outerjoin(following, following.run_id == ranked.c.nxt)
        .where(f.suppressed.is_(False))
        .order_by(f.run_id, f.id)
    )  # fmt: skip
    out: dict[tuple[str, str], list[_Seen]] = defaultdict(list)
    with db.session() as session:
        rows = list(session.execute(found))
    further: dict[tuple[str, int, str], int | None] = {}
    for run_repo, fingerprint, run_id, at, trust, severity, repo_next, gates, job in rows:
        seen = out[(run_repo, fingerprint)]
        if seen and seen[-1].run == run_id:
            continue
        job_next = repo_next
        if repo_next is not None and f",{job}," not in (gates or ""):
            key = (run_repo, run_id, job)
            if key not in further:
                further[key] = _next_with_job(db, run_repo, run_id, job, since)
            job_next = further[key]
        seen.append(_Seen(run_id, at, trust, severity, job_next))
    return out


def _created(db: Database, run_ids: set[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    with db.session() as session:
        for batch in chunks(sorted(run_ids)):
            query = select(RunFactRecord.run_id, RunFactRecord.created_at).where(
                RunFactRecord.run_id.in_(batch)
            )
            out.update((run_id, at) for run_id, at in session.execute(query))
    return out


def _episodes(seen: list[_Seen]) -> list[tuple[_Seen, int | None]]:
    """(first sight, fixing run or None) per episode: an episode goes on while the next
    run of the gate job still carries the fingerprint."""
    out: list[tuple[_Seen, int | None]] = []
    start = 0
    for index, sight in enumerate(seen):
        following = seen[index + 1].run if index + 1 < len(seen) else None
        if sight.next_run is not None and sight.next_run == following:
            continue
        out.append((seen[start], sight.next_run))
        start = index + 1
    return out


def _detection_and_mttr(
    report: KpiReport, db: Database, since: datetime | None, repo: str | None
) -> None:
    episodes = [e for seen in _occurrences(db, since, repo).values() for e in _episodes(seen)]
    fixed_at = _created(db, {fix for _first, fix in episodes if fix is not None})
    fixed_hours: dict[str, list[float]] = defaultdict(list)
    for first, fix in episodes:
        if first.trust in _BEFORE:
            report.found_before += 1
        else:
            report.found_after += 1
        if fix is None or fix not in fixed_at:
            report.open_findings[first.severity] = report.open_findings.get(first.severity, 0) + 1
        else:
            hours = (fixed_at[fix] - first.at).total_seconds() / 3600
            fixed_hours[first.severity].append(hours)
    report.mttr_hours = {sev: round(sum(h) / len(h), 2) for sev, h in sorted(fixed_hours.items())}
    report.open_findings = dict(sorted(report.open_findings.items()))


def _compliance_and_failures(
    report: KpiReport, db: Database, since: datetime | None, repo: str | None
) -> None:
    r = RunFactRecord
    blocked = func.sum(case((r.status == "blocked", 1), else_=0))
    by_repo = _scoped(select(r.repo, func.count(), blocked), since, repo).group_by(r.repo)
    failing = _scoped(select(r.created_at, r.status), since, repo).where(
        r.status.in_(("blocked", "failed", "error"))
    )
    with db.session() as session:
        totals = {name: (n, n - int(b)) for name, n, b in session.execute(by_repo.order_by(r.repo))}
        for at, status in session.execute(failing):
            bucket = report.failures.setdefault(at.date().isoformat(), {"security": 0, "other": 0})
            bucket["security" if status == "blocked" else "other"] += 1
    report.failures = dict(sorted(report.failures.items()))
    report.runs = sum(n for n, _ok in totals.values())
    report.compliance = {name: _pct(ok, n) for name, (n, ok) in totals.items()}
    report.compliance_overall = _pct(sum(ok for _n, ok in totals.values()), report.runs)


def run_kpis(report: KpiReport, db: Database, since: datetime | None, repo: str | None) -> None:
    """Fill the run-record KPIs of ``report``."""
    _compliance_and_failures(report, db, since, repo)
    if not report.runs:
        return
    _adoption(report, db, since, repo)
    _detection_and_mttr(report, db, since, repo)
