"""Read past runs back from the state database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bastion.engine.attestation_record import attestation_of_row
from bastion.engine.run_findings import JudgedFinding, finding_order
from bastion.errors import UsageError
from bastion.store import Database, FindingRecord, JobRecord, RunRecord

__all__ = ["RunSummary", "get_findings", "get_run", "list_runs", "read_log", "run_to_dict"]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run with its jobs, as plain data."""

    data: dict[str, Any]


def run_to_dict(run: RunRecord, *, with_jobs: bool) -> dict[str, Any]:
    """JSON-ready form of a run record."""
    data: dict[str, Any] = {
        "id": run.id,
        "status": run.status,
        "repo": run.repo,
        "commit": run.commit,
        "ref": run.ref,
        "event": run.event,
        "trust": run.trust,
        "pipeline": run.pipeline_path,
        "pipeline_digest": run.pipeline_digest,
        "reason": run.reason,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if run.started_at and run.finished_at:
        data["duration_seconds"] = round((run.finished_at - run.started_at).total_seconds(), 3)
    if with_jobs:
        data["jobs"] = [_job_to_dict(job) for job in run.jobs]
        data["attestations"] = [attestation_of_row(row).to_dict() for row in run.attestations]
    return data


def _job_to_dict(job: JobRecord) -> dict[str, Any]:
    duration = None
    if job.started_at and job.finished_at:
        duration = round((job.finished_at - job.started_at).total_seconds(), 3)
    return {
        "name": job.name,
        "kind": job.kind,
        "status": job.status,
        "reason": job.reason,
        "duration_seconds": duration,
        "log": job.log_path,
        "result": job.result,
        "steps": [
            {"index": s.index, "name": s.name, "status": s.status, "exit_code": s.exit_code}
            for s in job.steps
        ],
    }


def list_runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs first."""
    with db.session() as session:
        runs = session.scalars(select(RunRecord).order_by(RunRecord.id.desc()).limit(limit))
        return [run_to_dict(run, with_jobs=False) for run in runs]


def get_run(db: Database, run_id: int) -> dict[str, Any]:
    """One run with its jobs and steps; UsageError if there is no such run."""
    with db.session() as session:
        run = session.get(RunRecord, run_id)
        if run is None:
            raise UsageError(f"no run {run_id} here", hint="`bastion runs list` shows the runs")
        return run_to_dict(run, with_jobs=True)


def get_findings(db: Database, run_id: int) -> list[tuple[str, JudgedFinding]]:
    """(job, finding) for every finding the run's gate jobs were judged on, worst first;
    UsageError if there is no such run."""
    with db.session() as session:
        if session.get(RunRecord, run_id) is None:
            raise UsageError(f"no run {run_id} here", hint="`bastion runs list` shows the runs")
        rows = session.scalars(
            select(FindingRecord).where(FindingRecord.run_id == run_id).order_by(FindingRecord.id)
        )
        found = [(row.job, _judged(row)) for row in rows]
    return sorted(found, key=lambda pair: finding_order(pair[1]))


def _judged(row: FindingRecord) -> JudgedFinding:
    return JudgedFinding(
        gate=row.gate,
        rule_id=row.rule_id,
        severity=row.severity,
        path=row.path,
        line=row.line,
        message=row.message,
        fingerprint=row.fingerprint,
        new=row.new,
        suppressed=row.suppressed,
        suppressed_by=row.suppressed_by,
        suppressed_reason=row.suppressed_reason,
    )


def read_log(db: Database, run_id: int, job: str | None) -> list[tuple[str, Path]]:
    """(job, log path) of one job or of every job of a run, in run order."""
    run = get_run(db, run_id)
    jobs = run["jobs"]
    if job is not None:
        jobs = [j for j in jobs if j["name"] == job]
        if not jobs:
            names = ", ".join(j["name"] for j in run["jobs"])
            raise UsageError(f"run {run_id} has no job '{job}'", hint=f"jobs are: {names}")
    return [(j["name"], Path(j["log"])) for j in jobs if j["log"]]
