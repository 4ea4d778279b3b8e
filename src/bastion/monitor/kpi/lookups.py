"""Batched look-ups the KPI queries share (IN lists kept under every database's limit)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from sqlalchemy import select

from bastion.store import Database, RunRecord

__all__ = ["chunks", "run_repos"]

_T = TypeVar("_T")
_CHUNK = 1000


def chunks(values: Iterable[_T]) -> Iterator[list[_T]]:
    """``values`` in lists of at most 1,000."""
    batch: list[_T] = []
    for value in values:
        batch.append(value)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def run_repos(db: Database, run_ids: Iterable[int]) -> dict[int, str]:
    """The repository of each run id that exists."""
    out: dict[int, str] = {}
    with db.session() as session:
        for batch in chunks(sorted(set(run_ids))):
            query = select(RunRecord.id, RunRecord.repo).where(RunRecord.id.in_(batch))
            out.update((run_id, repo) for run_id, repo in session.execute(query))
    return out
