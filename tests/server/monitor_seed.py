"""A fortnight of run history for the monitoring tests: three repositories, gate jobs,
findings that appear and are fixed, runs blocked by gates and runs failed otherwise, so
every KPI and every chart has data; and alerts in each state."""

from __future__ import annotations

from datetime import datetime, timedelta

from bastion.monitor import AlertStore, PlainText, Severity, Signal
from bastion.store import Database, FindingRecord, JobRecord, RunRecord

__all__ = ["seed_alerts", "seed_history"]

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
