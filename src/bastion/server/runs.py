"""Runs as the server shows them: read-only views of the store's run records.

The same records ``bastion run`` writes: a run started by the CLI against this database and
one started by the server are listed alike.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from bastion.server.errors import NotFoundError
from bastion.store import Database, FindingRecord, JobRecord, RunRecord

__all__ = [
    "RunFilter",
    "count_findings",
    "count_runs",
    "get_run",
    "get_run_detail",
    "job_of",
    "job_status",
    "list_runs",
]


@dataclass(frozen=True)
class RunFilter:
    """Which runs a page lists: by status, repository and branch, older than ``before``."""

    status: str | None = None
    repo: str | None = None
    branch: str | None = None
    before: int | None = None  # the cursor: the id of the last run of the previous page

    def apply(self, query: Select[Any], repositories: Collection[str] | None) -> Select[Any]:
        """``query`` narrowed to these conditions and to ``repositories`` (None: all)."""
        if repositories is not None:
            query = query.where(RunRecord.repo.in_(list(repositories)))
        if self.status is not None:
            query = query.where(RunRecord.status == self.status)
        if self.repo is not None:
            query = query.where(RunRecord.repo == self.repo)
        if self.branch is not None:
            query = query.where(RunRecord.ref == f"refs/heads/{self.branch}")
        if self.before is not None:
            query = query.where(RunRecord.id < self.before)
        return query


def list_runs(
    db: Database,
    repositories: Collection[str] | None,
    *,
    limit: int,
    offset: int = 0,
    where: RunFilter = RunFilter(),
) -> list[RunRecord]:
    """Newest first; only runs of ``repositories`` (None: all) that ``where`` keeps."""
    query = select(RunRecord).order_by(RunRecord.id.desc()).limit(limit).offset(offset)
    with db.session() as session:
        return list(session.scalars(where.apply(query, repositories)))


def count_runs(
    db: Database, repositories: Collection[str] | None, where: RunFilter = RunFilter()
) -> int:
    """How many runs :func:`list_runs` pages over."""
    query = select(func.count()).select_from(RunRecord)
    with db.session() as session:
        return int(session.scalar(where.apply(query, repositories)) or 0)


def _load_run(session: Session, run_id: int) -> RunRecord:
    # Jobs, their steps and the attestations in one query each, not one per job (N+1).
    run = session.scalar(
        select(RunRecord)
        .where(RunRecord.id == run_id)
        .options(
            selectinload(RunRecord.jobs).selectinload(JobRecord.steps),
            selectinload(RunRecord.attestations),
        )
    )
    if run is None:
        raise NotFoundError(f"no run {run_id}")
    return run


def get_run(db: Database, run_id: int) -> RunRecord:
    """Run ``run_id`` with its jobs loaded; NotFoundError if unknown."""
    with db.session() as session:
        return _load_run(session, run_id)


def get_run_detail(db: Database, run_id: int) -> tuple[RunRecord, int]:
    """As :func:`get_run`, with :func:`count_findings`'s count, read in the same session."""
    with db.session() as session:
        run = _load_run(session, run_id)
        return run, int(session.scalar(_findings_count(run_id)) or 0)


def _findings_count(run_id: int) -> Select[int]:
    return select(func.count()).select_from(FindingRecord).where(FindingRecord.run_id == run_id)


def count_findings(db: Database, run_id: int) -> int:
    """How many findings the run's gate jobs were judged on (suppressed ones included)."""
    with db.session() as session:
        return int(session.scalar(_findings_count(run_id)) or 0)


def job_of(run: RunRecord, name: str) -> JobRecord:
    """The job ``name`` of ``run``; NotFoundError if it has none of that name."""
    for job in run.jobs:
        if job.name == name:
            return job
    raise NotFoundError(f"run {run.id} has no job {name!r}")


def job_status(db: Database, run_id: int, name: str) -> str | None:
    """The job's status as recorded now (None if unknown)."""
    query = select(JobRecord.status).where(JobRecord.run_id == run_id, JobRecord.name == name)
    with db.session() as session:
        return session.scalar(query)
