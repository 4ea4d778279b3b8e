"""Audit readiness: for each deploy, is every piece of evidence an auditor asks for there?

A deploy is an audit event ``approval.deployed`` (the server: an approved request's job
passed; details ``environment`` and ``run``) or ``deploy.completed`` (``bastion deploy``:
details ``environment`` and ``digest``). Its artifacts are the ``attestations`` rows of
that run, or of that digest. Evidence, each yes or no:

- sbom: it has artifacts and each has a CycloneDX SBOM reference;
- provenance: each has a SLSA provenance reference;
- signature: each was signed (``signed_by`` set);
- approval: the server deploy came from an approved request by construction; a
  ``deploy.completed`` counts when an approved request (``approval.approved``) of the same
  environment shipped that digest;
- verified log: the deploy's audit event is covered by a signed checkpoint (its seq below
  the newest checkpoint's size) and no ``audit.verified`` failure was recorded after it.

A deploy is ready when all five hold.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, case, func, literal, select

from bastion.monitor.kpi.audit_view import AUDIT_CHECKPOINTS, AUDIT_EVENTS, AuditRow
from bastion.monitor.models import AuditFactRecord
from bastion.store import AttestationRecord, Database, RunRecord

__all__ = ["EVIDENCE", "Readiness", "audit_readiness"]

EVIDENCE = ("sbom", "provenance", "signature", "approval", "verified_log")
SERVER_DEPLOY, CLI_DEPLOY = "approval.deployed", "deploy.completed"
_APPROVED = "approval.approved"
_REQUESTED = "approval.requested"
_VERIFIED = "audit.verified"


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass(frozen=True, slots=True)
class _Deploy:
    """One deploy and its artifacts' evidence, as aggregated by the database."""

    seq: int
    environment: str
    run: int | None
    digest: str | None
    repo: str | None
    artifacts: int
    sbom: int
    provenance: int
    signed: int


@dataclass
class Readiness:
    """How many deploys, how many were ready, and how many had each piece of evidence."""

    deploys: int = 0
    ready: int = 0
    evidence: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVIDENCE, 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts and percentages of deploys."""
        return {
            "deploys": self.deploys,
            "ready": self.ready,
            "ready_percent": _pct(self.ready, self.deploys),
            "evidence_percent": {k: _pct(v, self.deploys) for k, v in self.evidence.items()},
        }


def _approved(events: list[AuditRow]) -> dict[str, set[str]]:
    """The digests shipped by approved requests, per environment."""
    shipped: dict[str, tuple[str, list[str]]] = {}
    approved: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.action == _REQUESTED and event.artifacts:
            pairs = json.loads(event.artifacts)
            digests = [str(p[1]) for p in pairs if isinstance(p, list) and len(p) == 2]
            shipped[event.subject] = (event.environment, digests)
        elif event.action == _APPROVED and event.subject in shipped:
            env, digests = shipped[event.subject]
            approved[env].update(digests)
    return approved


def _deploys(db: Database, since: datetime | None) -> list[_Deploy]:
    """Every deploy since ``since`` with its artifacts' evidence counted in SQL: the server's
    joined to the attestations of its run, ``bastion deploy``'s to those of its digest."""
    e, a, r = AuditFactRecord, AttestationRecord, RunRecord
    run, digest, env = e.run_id, e.digest, e.environment
    counted = (
        func.count(a.id),
        func.coalesce(func.sum(case((a.cyclonedx_ref != "", 1), else_=0)), 0),
        func.coalesce(func.sum(case((a.provenance_ref != "", 1), else_=0)), 0),
        func.coalesce(func.sum(case((a.signed_by.is_not(None), 1), else_=0)), 0),
    )
    by_run = (
        select(e.seq, env, run, literal(None, String), func.min(r.repo), *counted)
        .select_from(e)
        .outerjoin(r, r.id == run)
        .outerjoin(a, a.run_id == r.id)
        .where(e.action == SERVER_DEPLOY)
        .group_by(e.seq, env, run)
    )
    by_digest = (
        select(e.seq, env, literal(None, Integer), digest, func.min(a.repo), *counted)
        .select_from(e)
        .outerjoin(a, a.digest == digest)
        .where(e.action == CLI_DEPLOY)
        .group_by(e.seq, env, digest)
    )
    if since is not None:
        by_run, by_digest = by_run.where(e.time >= since), by_digest.where(e.time >= since)
    with db.session() as session:
        rows = [*session.execute(by_run), *session.execute(by_digest)]
    return [_Deploy(*row) for row in rows]


def _log_state(db: Database) -> tuple[int, int]:
    """The newest checkpoint's size; the seq of the last failed verification (-1: none)."""
    e = AUDIT_EVENTS.c
    with db.session() as session:
        sealed = session.scalar(select(func.max(AUDIT_CHECKPOINTS.c.size))) or 0
        failed = session.scalar(
            select(func.max(e.seq)).where(e.action == _VERIFIED, e.outcome != "success")
        )
    return int(sealed), -1 if failed is None else int(failed)


def audit_readiness(
    db: Database, events: list[AuditRow], since: datetime | None, repo: str | None
) -> Readiness:
    """Evidence per deploy recorded since ``since`` (of ``repo``, if given)."""
    approved = _approved(events)
    sealed, failed = _log_state(db)
    out = Readiness()
    for deploy in _deploys(db, since):
        if repo is not None and deploy.repo != repo:
            continue
        complete = deploy.artifacts > 0
        held = {
            "sbom": complete and deploy.sbom == deploy.artifacts,
            "provenance": complete and deploy.provenance == deploy.artifacts,
            "signature": complete and deploy.signed == deploy.artifacts,
            "approval": deploy.run is not None
            or (deploy.digest or "") in approved.get(deploy.environment, set()),
            "verified_log": deploy.seq < sealed and failed < deploy.seq,
        }
        out.deploys += 1
        out.ready += all(held.values())
        for name, present in held.items():
            out.evidence[name] += present
    return out
