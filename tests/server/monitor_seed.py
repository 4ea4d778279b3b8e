"""A fortnight of run history for the monitoring tests: three repositories, gate jobs,
findings that appear and are fixed, runs blocked by gates and runs failed otherwise, so
every KPI and every chart has data; and alerts in each state."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.monitor import AlertStore, PlainText, Severity, Signal
from bastion.store import AttestationRecord, Database, FindingRecord, JobRecord, RunRecord

__all__ = ["seed_alerts", "seed_evidence", "seed_history"]

_REPOS = ("shop", "payments", "docs")
_GATES = {"shop": ("secrets", "sca"), "payments": ("secrets", "sca", "sast"), "docs": ()}


def _run(repo: str, day: int, index: int, now: datetime) -> RunRecord:
    created = now - timedelta(days=14 - day, hours=index)
    status = "passed"
    if (day + index) % 5 == 0 and _GATES[repo]:
        status = "blocked"
    elif (day * 3 + index) % 7 == 0:
        status = "failed"
    run = RunRecord(
        repo=repo,
        commit=f"{day:02d}{index:02d}".ljust(40, "0"),
        event="push",
        trust="untrusted" if index % 2 else "trusted",
        pipeline_path=".bastion/pipeline.yml",
        pipeline_digest="sha256:" + ("a" if day < 7 else "b") * 64,
        status=status,
        created_at=created,
        started_at=created,
        finished_at=created + timedelta(seconds=40 + 9 * day),
    )
    run.jobs.append(
        JobRecord(
            name="build",
            kind="build",
            status="passed",
            started_at=created,
            finished_at=created + timedelta(seconds=30),
        )
    )
    for gate in _GATES[repo]:
        run.jobs.append(
            JobRecord(name=gate, kind="gate", status="blocked" if status == "blocked" else "passed")
        )
    return run


def _findings(run: RunRecord, day: int) -> list[FindingRecord]:
    """A critical found on day 2 and fixed on day 5; a high open from day 9 on."""
    out = []
    wanted = [("CVE-2030-0001", "critical", 2, 5), ("CVE-2030-0002", "high", 9, 99)]
    for rule, severity, start, end in wanted:
        if run.repo == "payments" and start <= day < end:
            out.append(
                FindingRecord(
                    run_id=run.id,
                    job="sca",
                    gate="sca",
                    rule_id=rule,
                    severity=severity,
                    path="requirements.txt",
                    line=None,
                    message=f"{rule} in a dependency",
                    fingerprint=f"fp-{rule}",
                    new=day == start,
                    suppressed=False,
                    suppressed_by=None,
                    suppressed_reason=None,
                )
            )
    return out


def seed_history(db: Database, now: datetime) -> int:
    """Runs over the 14 days before ``now``; the number stored."""
    count = 0
    with db.session() as session:
        for day in range(14):
            for repo in _REPOS:
                for index in range(2):
                    run = _run(repo, day, index, now)
                    session.add(run)
                    session.flush()
                    session.add_all(_findings(run, day))
                    count += 1
    return count


def _attestation(run: RunRecord, signed: bool) -> AttestationRecord:
    return AttestationRecord(
        run_id=run.id, job="build", repo=run.repo, commit=run.commit,
        digest="sha256:" + f"{run.id:064x}", name="app.whl", size=10,
        media_type="application/zip", bundle="b", cyclonedx_ref="sbom.cdx.json", spdx_ref="",
        provenance_ref="provenance.json", signed_by="key-1" if signed else None,
        unsigned_reason=None if signed else "no signing key", reproducible="unknown",
        created_at=run.created_at,
    )  # fmt: skip


def _leak(run: RunRecord, secret: int) -> FindingRecord:
    return FindingRecord(
        run_id=run.id, job="secrets", gate="secrets", rule_id="aws-access-key",
        severity="high", path="config.py", line=3, message="an AWS access key",
        fingerprint=f"secret-{secret}", new=True, suppressed=False,
    )  # fmt: skip


def seed_evidence(db: Database, now: datetime) -> None:
    """Over ``seed_history``'s runs: attested builds of payments (every third unsigned),
    approval requests decided after 5 to 60 minutes, deploys, and leaked secrets in shop."""
    with db.session() as session:
        runs = list(session.scalars(select(RunRecord).order_by(RunRecord.id)))
        payments = [r for r in runs if r.repo == "payments"]
        session.add_all(_attestation(r, i % 3 != 0) for i, r in enumerate(payments))
        shop = [r for r in runs if r.repo == "shop"]
        session.add_all(_leak(r, i // 9) for i, r in enumerate(shop) if i % 9 == 0)
    log, events = AuditLog(db, witness=None), []
    for i, run in enumerate(payments[:12]):
        env = "production" if i % 2 else "staging"
        asked = run.created_at + timedelta(minutes=10)
        subject, details = f"approval:{i + 1}", {"environment": env, "run": run.id}
        events.append(AuditEvent("bastion", "approval.requested", subject, details=details,
                                 time=asked))  # fmt: skip
        decision = "approval.rejected" if i % 5 == 4 else "approval.approved"
        decided = asked + timedelta(minutes=5 + 5 * i)
        events.append(AuditEvent("bastion", decision, subject, time=decided))
        if decision == "approval.approved":
            events.append(AuditEvent("bastion", "approval.deployed", subject, Outcome.SUCCESS,
                                     details, decided + timedelta(minutes=1)))  # fmt: skip
    log.append_many(events)


def seed_alerts(db: Database) -> list[int]:
    """Three open alerts: critical, high, medium."""
    signals = [
        Signal(
            "pipeline-changed",
            Severity.CRITICAL,
            "Pipeline of shop changed",
            ".bastion.yml edited by bob",
            "k1",
            repo="shop",
        ),
        Signal(
            "failed-login-burst",
            Severity.HIGH,
            "7 failed sign-ins for admin",
            "from 10.0.0.9",
            "k2",
        ),
        Signal(
            "new-dependency",
            Severity.MEDIUM,
            "New dependency in docs",
            "left-pad 1.3.0",
            "k3",
            repo="docs",
        ),
    ]
    store = AlertStore(db)
    masker = PlainText()
    with db.session() as session:
        return store.open_signals(session, signals, masker)
