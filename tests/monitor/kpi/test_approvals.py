"""Approval latency: request → final decision, median and p90 per environment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.audit import AuditLog
from bastion.monitor.kpi import compute_kpis
from bastion.monitor.kpi.approvals import percentile
from bastion.store import Database, open_database
from tests.monitor.kpi.evidence import audit
from tests.monitor.seed import DAY0, add_run


def _request(log: AuditLog, request_id: int, env: str, run: int, at: float) -> None:
    audit(log, "approval.requested", f"approval:{request_id}", at, environment=env, run=run)


@pytest.fixture
def db() -> Database:
    db = open_database("sqlite://")
    acme, web = add_run(db, "acme", "passed"), add_run(db, "web", "passed")
    log = AuditLog(db, witness=None)
    _request(log, 1, "production", acme, 0)
    audit(log, "approval.approve", "approval:1", 4, environment="production")  # a vote
    audit(log, "approval.approved", "approval:1", 10, approvers=2)
    _request(log, 2, "production", acme, 60)
    audit(log, "approval.rejected", "approval:2", 90, approvers=0)
    _request(log, 3, "production", web, 120)
    audit(log, "approval.approved", "approval:3", 140, approvers=2)
    audit(log, "approval.deployed", "approval:3", 150, environment="production", run=web)
    _request(log, 4, "production", acme, 200)  # still pending: counted, never timed
    _request(log, 5, "staging", web, 2880)
    audit(log, "approval.expired", "approval:5", 2940, approvers=0)
    return db


def test_latency_per_environment(db: Database) -> None:
    latency = compute_kpis(db).to_dict()["approval_latency"]
    assert latency == {
        "production": {"requests": 4, "decided": 3, "median_minutes": 20.0, "p90_minutes": 30.0},
        "staging": {"requests": 1, "decided": 1, "median_minutes": 60.0, "p90_minutes": 60.0},
    }


def test_latency_of_one_repository_since_a_day(db: Database) -> None:
    assert compute_kpis(db, repo="acme").to_dict()["approval_latency"] == {
        "production": {"requests": 3, "decided": 2, "median_minutes": 20.0, "p90_minutes": 30.0}
    }
    late = compute_kpis(db, since=DAY0 + timedelta(days=1))
    assert list(late.approval_latency) == ["staging"]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 90) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90) == 9.0
    assert percentile([5.0], 90) == 5.0


def test_no_audit_log_is_no_data() -> None:
    report = compute_kpis(open_database("sqlite://")).to_dict()
    assert report["approval_latency"] == {}
    assert report["audit_readiness"] == {
        "deploys": 0, "ready": 0, "ready_percent": 0.0,
        "evidence_percent": {"sbom": 0.0, "provenance": 0.0, "signature": 0.0,
                             "approval": 0.0, "verified_log": 0.0},
    }  # fmt: skip
