"""Findings as the server lists them: each repository's newest judged run, read from the run
records (``JobRecord.result["verdict"]["summary"]["items"]``, written by the gate evaluator),
with what the server's triage says about each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bastion.server.triage import Accepted
from bastion.store import Database, RunRecord

__all__ = ["FindingView", "latest_findings", "run_findings"]

_RUNS_SCANNED = 500  # newest runs looked at for each listing


@dataclass(frozen=True)
class FindingView:
    """One finding of a run's gate job, and whether it is accepted (file or server)."""

    repository: str
    run_id: int
    job: str
    fingerprint: str
    gate: str
    rule_id: str
    severity: str
    message: str
    path: str
    line: int | None
    new: bool
    suppressed_by: str | None
    accepted: Accepted | None = None

    @property
    def open(self) -> bool:
        """Neither suppressed when judged nor accepted on the server since."""
        return self.suppressed_by is None and self.accepted is None


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _views(run: RunRecord) -> list[FindingView]:
    views = []
    for job in run.jobs:
        verdict = (job.result or {}).get("verdict")
        summary = verdict.get("summary") if isinstance(verdict, Mapping) else None
        items = summary.get("items") if isinstance(summary, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping) or not _text(item, "fingerprint"):
                continue
            line, by = item.get("line"), item.get("suppressed_by")
            suppressed_by = (
                (by if isinstance(by, str) else "suppressed")
                if item.get("suppressed") is True
                else None
            )
            views.append(
                FindingView(
                    run.repo,
                    run.id,
                    job.name,
                    _text(item, "fingerprint"),
                    _text(item, "gate"),
                    _text(item, "rule_id"),
                    _text(item, "severity") or "info",
                    _text(item, "message"),
                    _text(item, "path"),
                    line if isinstance(line, int) else None,
                    item.get("new") is True,
                    suppressed_by,
                )
            )
    return views


def latest_findings(
    db: Database,
    repositories: Collection[str] | None,
    accepted: Collection[Accepted],
    today: dt.date,
) -> list[FindingView]:
    """Findings of the newest run with gate results of each repository in ``repositories``
    (None: all), each marked with the active server acceptance of its fingerprint."""
    query = (
        select(RunRecord)
        .order_by(RunRecord.id.desc())
        .limit(_RUNS_SCANNED)
        .options(selectinload(RunRecord.jobs))
    )
    if repositories is not None:
        query = query.where(RunRecord.repo.in_(list(repositories)))
    active = {(a.repository, a.suppression.fingerprint): a for a in accepted if a.active_on(today)}
    seen: set[str] = set()
    found: list[FindingView] = []
    with db.session() as session:
        for run in session.scalars(query):
            if run.repo in seen:
                continue
            views = _views(run)
            if views:
                seen.add(run.repo)
                found += [_mark(v, active.get((v.repository, v.fingerprint))) for v in views]
    return found


def run_findings(
    db: Database, run_id: int, accepted: Collection[Accepted], today: dt.date
) -> list[FindingView]:
    """The findings of one run's gate jobs ([] for an unknown run), each marked with the
    active server acceptance of its fingerprint."""
    with db.session() as session:
        run = session.scalar(
            select(RunRecord).where(RunRecord.id == run_id).options(selectinload(RunRecord.jobs))
        )
        views = _views(run) if run is not None else []
    active = {(a.repository, a.suppression.fingerprint): a for a in accepted if a.active_on(today)}
    return [_mark(v, active.get((v.repository, v.fingerprint))) for v in views]


def _mark(view: FindingView, accepted: Accepted | None) -> FindingView:
    if accepted is None:
        return view
    return replace(view, accepted=accepted)
