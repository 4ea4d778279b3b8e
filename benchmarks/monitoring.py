"""Monitor benchmark: rule evaluation rate over a realistic mix of audit events, and the
KPIs over a large history on PostgreSQL.

    .venv/bin/python benchmarks/monitoring.py [--events 100000] [--repeat 3]
    .venv/bin/python benchmarks/monitoring.py --kpi [--runs 100000] [--audit 1000000]

Target (issue 16): rule evaluation >= 5,000 events/s. Two rows: the rules alone (every
built-in rule over in-memory observations, a learned baseline in memory), and end to end
(the evaluator reading a SQLite audit log from its cursor, judging, storing alerts, baseline
and cursor per batch). The mix: run and job events, secret releases, egress requests (a few
denied, a few to new hosts), failed and successful logins, verify results. Medians of
``--repeat`` runs; the machine is shared, so CPU seconds are given beside wall time.

Target (issue 16): every KPI over 100,000 runs and 1,000,000 audit events in <= 2 s on
PostgreSQL. ``--kpi`` creates a database of its own on the machine's PostgreSQL (Unix
socket /var/run/postgresql), seeds it in SQL (``INSERT ... SELECT generate_series``: runs,
~4.8 gate/build jobs per run, findings that appear and are fixed, secrets, attestations,
SBOM summaries, audit events with approvals and deploys, a checkpoint), times
``compute_kpis`` over all time, the last 30 days and one repository, and drops the database.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.monitor import (
    Evaluator,
    MemoryBaseline,
    Observation,
    PlainText,
    RuleSet,
    builtin_rules,
    compute_kpis,
    refresh_facts,
)
from bastion.store import Database, open_database

_T0 = datetime.now(UTC)


def _event(i: int) -> AuditEvent:
    """The i-th event of the mix."""
    at = _T0 + timedelta(milliseconds=i)
    run, kind = f"run/{i // 20}", i % 20
    if kind == 0:
        details: dict[str, object] = {
            "repo": f"org/repo{i % 7}", "ref": "refs/heads/main", "trust": "trusted",
            "pipeline": ".bastion.yml", "pipeline_digest": f"sha256:{i % 11}",
        }  # fmt: skip
        return AuditEvent("bastion", "run.started", run, details=details, time=at)
    if kind < 8:
        return AuditEvent(
            "bastion", "job.finished", f"{run}/job/j{kind}", details={"state": "passed"}, time=at
        )
    if kind < 10:
        details = {"job": f"j{kind}", "run": run.removeprefix("run/")}
        return AuditEvent(
            "bastion", "secret.released", f"secret/S{i % 5}", details=details, time=at
        )
    if kind < 16:
        outcome = Outcome.DENIED if i % 97 == 0 else Outcome.SUCCESS
        details = {
            "repo": f"org/repo{i % 7}",
            "job": f"j{kind}",
            "host": f"h{i % 13}.example",
            "port": 443,
        }
        return AuditEvent("bastion", "egress.request", f"{run}/job/j{kind}", outcome, details, at)
    if kind < 19:
        outcome = Outcome.FAILURE if i % 3 else Outcome.SUCCESS
        return AuditEvent(
            f"user:u{i % 50}",
            "auth.login",
            f"user:u{i % 50}",
            outcome,
            {"address": f"10.0.{i % 9}.1"},
            at,
        )
    failed = [] if i % 5 else [{"check": "signature", "reason": "key-revoked"}]
    outcome = Outcome.DENIED if failed else Outcome.SUCCESS
    return AuditEvent("user:ci", "verify.performed", f"sha256:{i}", outcome, {"failed": failed}, at)


def _observations(count: int) -> list[Observation]:
    out = []
    for i in range(count):
        e = _event(i)
        assert e.time is not None
        out.append(Observation(i, e.time, e.actor, e.action, e.subject, e.outcome.value, e.details))
    return out


def _timed(work: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    walls, cpus, result = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def _rules_only(observations: list[Observation]) -> int:
    ruleset = RuleSet(builtin_rules(), MemoryBaseline())
    return sum(1 for event in observations for _signal in ruleset.evaluate(event))


def _end_to_end(count: int) -> Callable[[], int]:
    def work() -> int:
        db = open_database("sqlite://")
        log = AuditLog(db, witness=None)
        for start in range(0, count, 5000):
            log.append_many(_event(i) for i in range(start, min(count, start + 5000)))
        began = time.perf_counter()
        report = Evaluator(db, builtin_rules(), PlainText()).run_once(log.entries)
        work.elapsed = time.perf_counter() - began  # type: ignore[attr-defined]
        return report.signals

    return work


POSTGRES = "postgresql+psycopg://postgres@/{database}?host=/var/run/postgresql"
# Each statement fills one table from generate_series; :runs and :audit are the volumes.
_SEED = [
    # Runs over the last ~year, 50 repositories, 200 pipelines; 10% blocked, ~6% failed.
    """INSERT INTO runs (id, repo, commit, ref, event, trust, pipeline_path, pipeline_digest,
                         status, created_at, started_at, finished_at)
       SELECT i, 'org/repo' || (i % 50), md5(i::text), 'refs/heads/main', 'push',
              (ARRAY['untrusted','internal','trusted','release'])[1 + i % 4], '.bastion.yml',
              'sha256:' || (i % 200),
              CASE WHEN i % 10 = 0 THEN 'blocked' WHEN i % 17 = 0 THEN 'failed' ELSE 'passed' END,
              now() - (:runs - i) * interval '5 minutes',
              now() - (:runs - i) * interval '5 minutes',
              now() - (:runs - i) * interval '5 minutes' + interval '90 seconds'
       FROM generate_series(1, :runs) AS i""",
    "SELECT setval(pg_get_serial_sequence('runs', 'id'), :runs)",
    # Gate jobs (secrets, sast, sca always; iac every 2nd run, image every 3rd) and a build.
    """INSERT INTO jobs (run_id, name, kind, status, started_at, finished_at)
       SELECT r.id, g.name, CASE WHEN g.name = 'build' THEN 'build' ELSE 'gate' END,
              CASE WHEN r.status = 'blocked' AND g.name = 'sca' THEN 'failed' ELSE 'passed' END,
              r.started_at, r.started_at + interval '20 seconds'
       FROM runs r CROSS JOIN unnest(ARRAY['secrets','sast','sca','iac','image','build']) AS g(name)
       WHERE (g.name <> 'iac' OR r.id % 2 = 0) AND (g.name <> 'image' OR r.id % 3 = 0)""",
    # Findings: repositories 0, 5, ... 45 carry two dependency findings in every run, each
    # fingerprint for 100 runs of its repository, then fixed; a leaked secret now and then.
    """INSERT INTO findings (run_id, job, gate, rule_id, severity, path, line, message,
                             fingerprint, new, suppressed)
       SELECT r.id, 'sca', 'sca', 'CVE-' || k, (ARRAY['critical','high','medium','low'])[1 + k % 4],
              'requirements.txt', NULL, 'a vulnerable dependency',
              'fp-' || (r.id % 50) || '-' || k || '-' || (r.id / 5000), false, false
       FROM runs r CROSS JOIN generate_series(1, 2) AS k WHERE r.id % 5 = 0""",
    """INSERT INTO findings (run_id, job, gate, rule_id, severity, path, line, message,
                             fingerprint, new, suppressed)
       SELECT r.id, 'secrets', 'secrets', 'aws-access-key', 'high', 'config.py', 3, 'a key',
              'secret-' || (r.id / 970), true, false
       FROM runs r WHERE r.id % 97 = 0""",
    # One attested artifact per passed run: 5% without an SBOM, 9% unsigned.
    """INSERT INTO attestations (run_id, job, repo, commit, digest, name, size, media_type,
                                 bundle, cyclonedx_ref, spdx_ref, provenance_ref, signed_by,
                                 unsigned_reason, reproducible, created_at)
       SELECT r.id, 'build', r.repo, r.commit, 'sha256:' || lpad(to_hex(r.id), 64, '0'),
              'app.whl', 1000, 'application/zip', 'b' || r.id,
              CASE WHEN r.id % 20 = 0 THEN '' ELSE 'sbom.cdx.json' END, '', 'provenance.json',
              CASE WHEN r.id % 11 = 0 THEN NULL ELSE 'key-1' END, NULL, 'unknown', r.created_at
       FROM runs r WHERE r.status = 'passed'""",
    # The audit log: per 100 events one approval request, its decision 1-120 minutes later
    # (10% rejected, 10% expired), the server's deploy of approved ones, a bastion deploy
    # every 5th request; the rest job, run, secret and egress events.
    """INSERT INTO audit_events (seq, time, actor, action, subject, outcome, body, leaf_hash)
       SELECT seq, t, 'bastion', action, subject, 'success', body,
              sha256(convert_to(body, 'UTF8'))
       FROM (
         SELECT seq, t, action, subject,
                json_build_object('action', action, 'subject', subject, 'seq', seq,
                                  'details', details)::text AS body
         FROM (
           SELECT seq, now() - (:audit - seq) * interval '30 seconds'
                       + CASE WHEN seq % 100 = 1 THEN (1 + abs(hashtext(seq::text)) % 120)
                              * interval '1 minute' ELSE interval '0' END AS t,
                  CASE seq % 100
                    WHEN 0 THEN 'approval.requested'
                    WHEN 1 THEN CASE (seq / 100) % 10 WHEN 9 THEN 'approval.rejected'
                                WHEN 8 THEN 'approval.expired' ELSE 'approval.approved' END
                    WHEN 2 THEN CASE WHEN (seq / 100) % 10 < 8 THEN 'approval.deployed'
                                ELSE 'job.finished' END
                    WHEN 3 THEN CASE WHEN (seq / 100) % 5 = 0 THEN 'deploy.completed'
                                ELSE 'job.finished' END
                    ELSE (ARRAY['job.finished','job.started','run.started','secret.released',
                                'egress.request'])[1 + seq % 5]
                  END AS action,
                  CASE WHEN seq % 100 < 3 THEN 'approval:' || (seq / 100)
                       ELSE 'run/' || (seq / 10) END AS subject,
                  json_build_object(
                    'environment', (ARRAY['production','staging','qa'])[1 + (seq / 100) % 3],
                    'run', 1 + (seq / 100) % :runs,
                    'digest', 'sha256:' || lpad(to_hex(1 + (seq / 100) % :runs), 64, '0'),
                    'artifacts', json_build_array(json_build_array(
                      'app.whl', 'sha256:' || lpad(to_hex(1 + (seq / 100) % :runs), 64, '0')))
                  ) AS details
           FROM generate_series(0, :audit - 1) AS seq
         ) AS raw
       ) AS events""",
    """INSERT INTO audit_checkpoints (size, root, note, created_at)
       VALUES (:audit * 9 / 10, sha256('root'), 'benchmark checkpoint', now())""",
    "ANALYZE",
]
# After the first refresh (which summarises the history once, as the monitor does as runs
# finish): two thirds of the SBOMs read, 40 components each, 36 complete.
_SBOM_READ = """UPDATE monitor_artifact_facts SET components = 40, complete = 36
                WHERE has_sbom = 1 AND ('x' || substr(digest, 66, 6))::bit(24)::int % 3 <> 0"""


def _postgres(sql: str) -> None:
    """``sql`` on the server's maintenance database, outside a transaction."""
    engine = create_engine(POSTGRES.format(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@contextmanager
def kpi_database(runs: int, audit: int) -> Iterator[tuple[Database, float]]:
    """A seeded PostgreSQL database of this benchmark's own (dropped on exit) and the
    seconds seeding took."""
    name = f"bastion_kpi_bench_{uuid.uuid4().hex[:8]}"
    _postgres(f'CREATE DATABASE "{name}"')
    db: Database | None = None
    try:
        db = open_database(POSTGRES.format(database=name))
        AuditLog(db, witness=None)  # the audit tables
        compute_kpis(db)  # the monitor's tables
        began = time.perf_counter()
        with db.engine.begin() as conn:
            for statement in _SEED:
                conn.execute(text(statement), {"runs": runs, "audit": audit})
        seeded = time.perf_counter() - began
        began = time.perf_counter()
        refresh_facts(db)
        with db.engine.begin() as conn:
            conn.execute(text(_SBOM_READ))
            conn.execute(text("ANALYZE"))
        print(f"first KPI summary refresh (once, the history): {time.perf_counter() - began:.1f} s")
        yield db, seeded
    finally:
        if db is not None:
            db.dispose()
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _kpis(runs: int, audit: int, repeat: int) -> None:
    """Seed a private PostgreSQL database, time the KPIs, drop it."""
    with kpi_database(runs, audit) as (db, seeded):
        print(f"seeded {runs:,} runs, {audit:,} audit events and the rest in {seeded:.1f} s")
        now = datetime.now(UTC)
        cases: list[tuple[str, datetime | None, str | None]] = [
            ("all time", None, None),
            ("last 30 days", now - timedelta(days=30), None),
            ("one repository", None, "org/repo5"),
        ]
        for label, since, repo in cases:

            def work(since: datetime | None = since, repo: str | None = repo) -> int:
                return compute_kpis(db, since=since, repo=repo).runs

            wall, cpu, _ = _timed(work, repeat)
            report = compute_kpis(db, since=since, repo=repo)
            approvals = sum(a.requests for a in report.approval_latency.values())
            print(f"KPIs {label:15} wall {wall:.2f} s (CPU {cpu:.2f} s): {report.runs:,} runs, "
                  f"{report.readiness.deploys:,} deploys, {approvals:,} approvals")  # fmt: skip
    print("target:            <= 2 s")


def main() -> None:
    """Print events/s for the rules alone and for the evaluator end to end (or the KPIs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kpi", action="store_true", help="time the KPIs on PostgreSQL")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.kpi:
        _kpis(args.runs, args.audit, args.repeat)
        return
    observations = _observations(args.events)
    wall, cpu, signals = _timed(lambda: _rules_only(observations), args.repeat)
    rate = args.events / wall
    print(f"rules alone:  {rate:>10,.0f} events/s  (wall {wall:.2f} s, CPU {cpu:.2f} s)")
    print(f"              {signals} signals")
    work = _end_to_end(args.events)
    elapsed = []
    for _ in range(args.repeat):
        signals = work()
        elapsed.append(work.elapsed)  # type: ignore[attr-defined]
    wall = statistics.median(elapsed)
    rate = args.events / wall
    print(f"end to end:   {rate:>10,.0f} events/s  (read+judge+store, wall {wall:.2f} s)")
    print(f"              {signals} signals")
    print("target:            5,000 events/s")


if __name__ == "__main__":
    main()
