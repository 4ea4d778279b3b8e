"""Runs, gate jobs and findings for the KPI and metrics tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bastion.store import Database, FindingRecord, JobRecord, RunRecord

DAY0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def add_run(
    db: Database,
    repo: str,
    status: str,
    *,
    day: float = 0,
    trust: str = "trusted",
    gates: tuple[str, ...] = ("secrets", "sca"),
    findings: tuple[tuple[str, str, str], ...] = (),
    digest: str = "sha256:p1",
) -> int:
    """One finished run of ``repo`` with gate jobs and (gate, fingerprint, severity) findings."""
    start = DAY0 + timedelta(days=day)
    with db.session() as session:
        run = RunRecord(repo=repo, commit="c" * 40, ref="refs/heads/main", event="push",
                        trust=trust, pipeline_path=".bastion.yml", pipeline_digest=digest,
                        status=status, created_at=start, started_at=start,
                        finished_at=start + timedelta(seconds=90))  # fmt: skip
        session.add(run)
        session.flush()
        for gate in gates:
            end = start + timedelta(seconds=20)
            session.add(
                JobRecord(run_id=run.id, name=gate, kind="gate", status="passed",
                          started_at=start, finished_at=end)
            )  # fmt: skip
        for gate, fingerprint, severity in findings:
            finding = FindingRecord(run_id=run.id, job=gate, gate=gate, rule_id="r",
                                    severity=severity, path="a", line=1, message="m",
                                    fingerprint=fingerprint, new=True,
                                    suppressed=False)  # fmt: skip
            session.add(finding)
        return run.id
