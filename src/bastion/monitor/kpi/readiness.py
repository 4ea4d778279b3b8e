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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bastion.monitor.kpi.audit_view import AUDIT_CHECKPOINTS, AUDIT_EVENTS, body_details
from bastion.monitor.kpi.lookups import chunks, run_repos
from bastion.store import AttestationRecord, Database

__all__ = ["EVIDENCE", "Readiness", "audit_readiness"]

EVIDENCE = ("sbom", "provenance", "signature", "approval", "verified_log")
SERVER_DEPLOY, CLI_DEPLOY = "approval.deployed", "deploy.completed"
_APPROVED = "approval.approved"
_REQUESTED = "approval.requested"
_VERIFIED = "audit.verified"


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass(frozen=True)
class _Deploy:
    seq: int
    environment: str
    run: int | None
    digest: str | None


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


def _events(
    db: Database, since: datetime | None
) -> tuple[list[_Deploy], dict[str, set[str]], int, int]:
    """Deploys since ``since``; digests approved per environment; the newest checkpoint's
    size; the seq of the last failed audit verification (-1: none)."""
    e = AUDIT_EVENTS.c
    wanted = (SERVER_DEPLOY, CLI_DEPLOY, _APPROVED, _REQUESTED)
    query = select(e.seq, e.time, e.action, e.subject, e.body).where(e.action.in_(wanted))
    deploys: list[_Deploy] = []
    shipped: dict[str, tuple[str, list[str]]] = {}
    approved: dict[str, set[str]] = defaultdict(set)
    with db.session() as session:
        for seq, at, action, subject, body in session.execute(query.order_by(e.seq)):
            details = body_details(body)
            env = str(details.get("environment", "?"))
            if action == _REQUESTED:
                pairs = details.get("artifacts") or []
                digests = [str(p[1]) for p in pairs if isinstance(p, list) and len(p) == 2]
                shipped[subject] = (env, digests)
            elif action == _APPROVED:
                env, digests = shipped.get(subject, ("?", []))
                approved[env].update(digests)
            elif since is None or at >= since:
                run, digest = details.get("run"), details.get("digest")
                deploys.append(_Deploy(seq, env, run if isinstance(run, int) else None,
                                       digest if isinstance(digest, str) else None))  # fmt: skip
        sealed = session.scalar(select(func.max(AUDIT_CHECKPOINTS.c.size))) or 0
        failed = session.scalar(
            select(func.max(e.seq)).where(e.action == _VERIFIED, e.outcome != "success")
        )
    return deploys, approved, int(sealed), -1 if failed is None else int(failed)


_Evidence = tuple[str, bool, bool, bool]  # repo, sbom, provenance, signed


def _artifacts(
    db: Database, deploys: list[_Deploy]
) -> tuple[dict[int, list[_Evidence]], dict[str, list[_Evidence]]]:
    a = AttestationRecord
    cols = (a.run_id, a.digest, a.repo, a.cyclonedx_ref, a.provenance_ref, a.signed_by)
    by_run: dict[int, list[_Evidence]] = defaultdict(list)
    by_digest: dict[str, list[_Evidence]] = defaultdict(list)
    runs = sorted({d.run for d in deploys if d.run is not None})
    digests = sorted({d.digest for d in deploys if d.digest is not None})
    with db.session() as session:
        for batch in chunks(runs):
            for run_id, _dg, repo, sbom, prov, signer in session.execute(
                select(*cols).where(a.run_id.in_(batch))
            ):
                by_run[run_id].append((repo, bool(sbom), bool(prov), signer is not None))
        for digests_batch in chunks(digests):
            for _run, digest, repo, sbom, prov, signer in session.execute(
                select(*cols).where(a.digest.in_(digests_batch))
            ):
                by_digest[digest].append((repo, bool(sbom), bool(prov), signer is not None))
    return by_run, by_digest


def audit_readiness(db: Database, since: datetime | None, repo: str | None) -> Readiness:
    """Evidence per deploy recorded since ``since`` (of ``repo``, if given)."""
    deploys, approved, sealed, failed = _events(db, since)
    by_run, by_digest = _artifacts(db, deploys)
    repos = run_repos(db, (d.run for d in deploys if d.run is not None)) if repo else {}
    out = Readiness()
    for deploy in deploys:
        if deploy.run is not None:
            evidence, owner = by_run.get(deploy.run, []), repos.get(deploy.run)
        else:
            evidence = by_digest.get(deploy.digest or "", [])
            owner = evidence[0][0] if evidence else None
        if repo is not None and owner != repo:
            continue
        held = {
            "sbom": bool(evidence) and all(e[1] for e in evidence),
            "provenance": bool(evidence) and all(e[2] for e in evidence),
            "signature": bool(evidence) and all(e[3] for e in evidence),
            "approval": deploy.run is not None
            or (deploy.digest or "") in approved.get(deploy.environment, set()),
            "verified_log": deploy.seq < sealed and failed < deploy.seq,
        }
        out.deploys += 1
        out.ready += all(held.values())
        for name, present in held.items():
            out.evidence[name] += present
    return out
