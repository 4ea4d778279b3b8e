"""Runs as the server shows them: read-only views of the store's run records.

The same records ``bastion run`` writes: a run started by the CLI against this database and
one started by the server are listed alike.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bastion.server.errors import NotFoundError
from bastion.store import Database, JobRecord, RunRecord

__all__ = ["count_runs", "get_run", "list_runs"]


def list_runs(
    db: Database, repositories: Collection[str] | None, *, limit: int, offset: int
) -> list[RunRecord]:
    """Newest first; only runs of ``repositories`` (None: all)."""
    query = select(RunRecord).order_by(RunRecord.id.desc()).limit(limit).offset(offset)
    if repositories is not None:
        query = query.where(RunRecord.repo.in_(list(repositories)))
    with db.session() as session:
        return list(session.scalars(query))


def count_runs(db: Database, repositories: Collection[str] | None) -> int:
    """How many runs :func:`list_runs` pages over."""
    query = select(func.count()).select_from(RunRecord)
    if repositories is not None:
        query = query.where(RunRecord.repo.in_(list(repositories)))
    with db.session() as session:
        return int(session.scalar(query) or 0)


def get_run(db: Database, run_id: int) -> RunRecord:
    """Run ``run_id`` with its jobs loaded; NotFoundError if unknown."""
    with db.session() as session:
        run = session.scalar(
            select(RunRecord)
            .where(RunRecord.id == run_id)
            .options(selectinload(RunRecord.jobs).selectinload(JobRecord.steps))
        )
        if run is None:
            raise NotFoundError(f"no run {run_id}")
        return run
