"""Monitor benchmark: rule evaluation rate over a realistic mix of audit events.

    .venv/bin/python benchmarks/monitoring.py [--events 100000] [--repeat 3]

Target (issue 16): rule evaluation >= 5,000 events/s. Two rows: the rules alone (every
built-in rule over in-memory observations, a learned baseline in memory), and end to end
(the evaluator reading a SQLite audit log from its cursor, judging, storing alerts, baseline
and cursor per batch). The mix: run and job events, secret releases, egress requests (a few
denied, a few to new hosts), failed and successful logins, verify results. Medians of
``--repeat`` runs; the machine is shared, so CPU seconds are given beside wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bastion.audit import AuditEvent, AuditLog, Outcome
from bastion.monitor import (
    Evaluator,
    MemoryBaseline,
    Observation,
    PlainText,
    RuleSet,
    builtin_rules,
)
from bastion.store import open_database

_T0 = datetime.now(UTC)


def _event(i: int) -> AuditEvent:
    """The i-th event of the mix."""
    at = _T0 + timedelta(milliseconds=i)
    run, kind = f"run/{i // 20}", i % 20
    if kind == 0:
        details = {"repo": f"org/repo{i % 7}", "ref": "refs/heads/main", "trust": "trusted",
                   "pipeline": ".bastion.yml", "pipeline_digest": f"sha256:{i % 11}"}  # fmt: skip
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


def main() -> None:
    """Print events/s for the rules alone and for the evaluator end to end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
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
