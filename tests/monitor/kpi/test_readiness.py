"""Audit readiness: SBOM, provenance, signature, approval and a verified log per deploy."""

from __future__ import annotations

from bastion.audit import AuditLog, Ed25519NoteSigner, Outcome
from bastion.monitor.kpi import compute_kpis
from bastion.store import Database, open_database
from tests.monitor.kpi.evidence import attest, audit
from tests.monitor.seed import add_run


def _seeded() -> tuple[Database, AuditLog]:
    db = open_database("sqlite://")
    log = AuditLog(db, Ed25519NoteSigner.generate("example.com/log"), witness=None)
    complete, unsigned = add_run(db, "acme", "passed"), add_run(db, "acme", "passed")
    attest(db, complete, "sha256:aa")
    attest(db, unsigned, "sha256:bb", signed=False)
    attest(db, unsigned, "sha256:cc")
    attest(db, complete, "sha256:dd")  # shipped by bastion deploy below
    audit(log, "approval.deployed", "approval:1", 1, environment="production", run=complete)
    audit(log, "approval.deployed", "approval:2", 2, environment="production", run=unsigned)
    audit(log, "approval.requested", "approval:3", 3, environment="staging", run=complete,
          artifacts=[["app.whl", "sha256:dd"]])  # fmt: skip
    audit(log, "approval.approved", "approval:3", 4, approvers=1)
    audit(log, "deploy.completed", "deploy/staging", 5, environment="staging", digest="sha256:dd")
    log.checkpoint()  # seals the three deploys above, not the one below
    audit(log, "deploy.completed", "deploy/qa", 6, environment="qa", digest="sha256:ee")
    return db, log


def test_evidence_per_deploy() -> None:
    db, _log = _seeded()
    assert compute_kpis(db).to_dict()["audit_readiness"] == {
        "deploys": 4,
        "ready": 2,
        "ready_percent": 50.0,
        "evidence_percent": {"sbom": 75.0, "provenance": 75.0, "signature": 50.0,
                             "approval": 75.0, "verified_log": 75.0},
    }  # fmt: skip


def test_a_failed_log_verification_unverifies_what_came_before() -> None:
    db, log = _seeded()
    audit(log, "audit.verified", "audit/log", 7, Outcome.FAILURE, problems=["leaf 3 differs"])
    report = compute_kpis(db).to_dict()["audit_readiness"]
    assert (report["ready"], report["evidence_percent"]["verified_log"]) == (0, 0.0)


def test_repository_filter() -> None:
    db, _log = _seeded()
    assert compute_kpis(db, repo="web").to_dict()["audit_readiness"]["deploys"] == 0
    assert compute_kpis(db, repo="acme").to_dict()["audit_readiness"]["deploys"] == 3
