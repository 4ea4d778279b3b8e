"""The KPI summaries, brought up to date before each computation.

``monitor_run_facts`` holds one row per finished run with its gate jobs (``,a,b,`` lists),
so the run KPIs read one narrow table instead of joining 100,000 runs with their jobs;
``monitor_artifact_facts`` one row per attested digest with its SBOM flag and component
counts. Each refresh reads only what is new, from a cursor in ``monitor_cursor``: for runs,
the lowest id that was not finished at the last refresh (a run finishing late is still
summarised); for attestations, which are only appended, the next id.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bastion.monitor.kpi.audit_view import AUDIT_EVENTS, KPI_ACTIONS, audited, parse_details
from bastion.monitor.kpi.lookups import chunks
from bastion.monitor.models import ArtifactFactRecord, AuditFactRecord, CursorRecord, RunFactRecord
from bastion.store import AttestationRecord, Database, JobRecord, RunRecord

__all__ = ["FINAL", "refresh_facts"]

FINAL = ("passed", "failed", "blocked", "cancelled", "error")
_SCANNED = ("passed", "failed")
_RUNS, _ATTESTATIONS, _AUDIT = "kpi-runs", "kpi-attestations", "kpi-audit"


def _cursor(session: Session, name: str) -> CursorRecord:
    """The cursor row, locked for this transaction (created at 0 the first time)."""
    row = session.get(CursorRecord, name, with_for_update=True)
    if row is None:
        row = CursorRecord(name=name, next_seq=0)
        session.add(row)
        session.flush()
    return row


def _gate_list(
    run_id: InstrumentedAttribute[int], statuses: tuple[str, ...] | None
) -> ColumnElement[str]:
    """``,name,name,`` of a run's gate jobs (``,`` for none), as a correlated subquery."""
    j = JobRecord
    query = select(func.aggregate_strings(j.name, ",")).where(j.run_id == run_id, j.kind == "gate")
    if statuses is not None:
        query = query.where(j.status.in_(statuses))
    names: ColumnElement[str] = query.scalar_subquery()
    return literal(",") + func.coalesce(names + ",", "")


def _refresh_runs(session: Session) -> None:
    r, f = RunRecord, RunFactRecord
    cursor = _cursor(session, _RUNS)
    low = cursor.next_seq
    # The missing ids first, then inserted in batches: an INSERT anti-joined with its own
    # target table may be planned as a scan per row of a table it is growing (quadratic).
    finished = select(r.id).where(r.id >= low, r.status.in_(FINAL))
    missing = list(session.scalars(finished.except_(select(f.run_id).where(f.run_id >= low))))
    columns = ["run_id", "repo", "pipeline_digest", "trust", "status", "created_at", "gates",
               "scanned"]  # fmt: skip
    for batch in chunks(sorted(missing)):
        new = select(
            r.id, r.repo, r.pipeline_digest, r.trust, r.status, r.created_at,
            _gate_list(r.id, None), _gate_list(r.id, _SCANNED),
        ).where(r.id.in_(batch))  # fmt: skip
        session.execute(insert(f).from_select(columns, new))
    unfinished = session.scalar(select(func.min(r.id)).where(r.id >= low, r.status.not_in(FINAL)))
    newest = session.scalar(select(func.max(r.id)))
    if unfinished is not None:
        cursor.next_seq = unfinished
    elif newest is not None:
        cursor.next_seq = newest + 1


def _refresh_artifacts(session: Session) -> None:
    a, f = AttestationRecord, ArtifactFactRecord
    cursor = _cursor(session, _ATTESTATIONS)
    low = cursor.next_seq
    newest = session.scalar(select(func.max(a.id)))
    if newest is None or newest < low:
        return
    recent = select(a.digest).where(a.id >= low, a.id <= newest)
    missing = list(session.scalars(recent.except_(select(f.digest))))
    has_sbom = func.max(case((a.cyclonedx_ref != "", 1), else_=0))
    for batch in chunks(sorted(missing)):
        new = (
            select(a.digest, func.min(a.repo), func.min(a.created_at), has_sbom)
            .where(a.digest.in_(batch))
            .group_by(a.digest)
        )
        session.execute(insert(f).from_select(["digest", "repo", "first_at", "has_sbom"], new))
    later_sbom = select(a.digest).where(a.id >= low, a.id <= newest, a.cyclonedx_ref != "")
    session.execute(
        update(f)
        .where(and_(f.has_sbom == 0, f.digest.in_(later_sbom)))
        .values(has_sbom=1)
        .execution_options(synchronize_session=False)
    )
    cursor.next_seq = newest + 1


def _refresh_audit(session: Session) -> None:
    """The approval and deploy events appended since the last refresh (the log is only
    appended to, so the next seq is an exact cursor)."""
    e = AUDIT_EVENTS.c
    cursor = _cursor(session, _AUDIT)
    newest = session.scalar(select(func.max(e.seq)))
    if newest is None or newest < cursor.next_seq:
        return
    query = (
        select(e.seq, e.time, e.action, e.subject, e.body)
        .where(e.action.in_(KPI_ACTIONS), e.seq >= cursor.next_seq, e.seq <= newest)
        .order_by(e.seq)
    )
    rows = []
    for seq, at, action, subject, body in session.execute(query):
        environment, run_id, digest, artifacts = parse_details(body)
        rows.append({"seq": seq, "time": at, "action": action, "subject": subject[:1024],
                     "environment": environment, "run_id": run_id, "digest": digest,
                     "artifacts": artifacts})  # fmt: skip
    for batch in chunks(rows):
        session.execute(insert(AuditFactRecord), batch)
    cursor.next_seq = newest + 1


def refresh_facts(db: Database) -> None:
    """Summarise the runs finished, the artifacts attested and the approval and deploy
    events recorded since the last refresh."""
    with db.session() as session:
        _refresh_runs(session)
    with db.session() as session:
        _refresh_artifacts(session)
    if audited(db):
        with db.session() as session:
            _refresh_audit(session)
