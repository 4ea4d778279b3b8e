"""Audit log benchmark: append rate, full verification and proofs, beside pymerkle.

    .venv/bin/python benchmarks/audit.py [--events 1000000] [--append 20000] [--repeat 3]

Targets (issue 6): appends >= 5,000 events/s on SQLite; full verification of a
1,000,000-event log < 30 s; inclusion proof size and time at that size. The peer is
pymerkle 7 (``SqliteTree``), the library we chose not to use: its appends store the same
canonical event bytes; it has no "verify everything" so its row is a root recomputation
from its stored leaves with the cache off, the core of what a full verification does.
Medians of ``--repeat`` runs; this machine is shared and noisy, so full verification is
also given in CPU seconds. About 2 minutes on an idle 2-core machine, more under load.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from pymerkle import SqliteTree

from bastion.audit import AuditEvent, AuditLog, Ed25519NoteSigner, Outcome
from bastion.audit.merkle import leaf_hash
from bastion.store import open_database, sqlite_url

T0 = time.time()
_NOW = datetime.now(UTC)


def events(count: int, start: int = 0) -> list[AuditEvent]:
    """Events shaped like a run's: job results with a few details."""
    return [
        AuditEvent(
            actor=f"user{i % 17}",
            action=("run.started", "job.finished", "gate.decided", "artifact.stored")[i % 4],
            subject=f"run/{i // 40}/job/{i % 40}",
            outcome=Outcome.FAILURE if i % 13 == 0 else Outcome.SUCCESS,
            details={"exit_code": i % 3, "duration_ms": i % 9000, "runner": "local"},
        )
        for i in range(start, start + count)
    ]


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def wall_and_cpu(action: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call (CPU leaves out the load of other users)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def new_log(directory: Path, name: str) -> AuditLog:
    db = open_database(sqlite_url(directory / f"{name}.db"))
    return AuditLog(db, Ed25519NoteSigner.generate("bench.local/audit"))


def _append_batches(log: AuditLog, batch: list[AuditEvent]) -> None:
    for i in range(0, len(batch), 1000):
        log.append_many(batch[i : i + 1000])


def _append_singly(log: AuditLog, batch: list[AuditEvent]) -> None:
    for event in batch:
        log.append(event)


def _peer_singly(peer: SqliteTree, bodies: list[bytes]) -> None:
    for body in bodies:
        peer.append_entry(body)


def append_rates(work: Path, count: int, repeat: int) -> dict[str, tuple[float, float]]:
    """events/s for (bastion, pymerkle), batched (1,000 per call) and one per call."""
    batch = events(count)
    bodies = [e.body(i, _NOW).encode() for i, e in enumerate(batch)]
    single = batch[: min(count, 2000)]
    rows: dict[str, tuple[list[float], list[float]]] = {"batched": ([], []), "single": ([], [])}
    for r in range(repeat):
        log = new_log(work, f"append{r}")
        rows["batched"][0].append(count / timed(partial(_append_batches, log, batch)))
        rows["single"][0].append(len(single) / timed(partial(_append_singly, log, single)))
        log.db.dispose()
        with SqliteTree(str(work / f"peer{r}.db")) as peer:
            elapsed = timed(partial(peer.append_entries, bodies, chunksize=1000))
            rows["batched"][1].append(count / elapsed)
            elapsed = timed(partial(_peer_singly, peer, bodies[: len(single)]))
            rows["single"][1].append(len(single) / elapsed)
    return {k: (statistics.median(a), statistics.median(b)) for k, (a, b) in rows.items()}


def build_big(work: Path, count: int) -> tuple[AuditLog, float]:
    """A log of ``count`` events with a checkpoint every 100,000 (like one per run)."""
    log = new_log(work, "big")
    start = time.perf_counter()
    for offset in range(0, count, 10_000):
        log.append_many(events(min(10_000, count - offset), offset))
        if (offset + 10_000) % 100_000 == 0:
            log.checkpoint()
    log.checkpoint()
    return log, time.perf_counter() - start


def build_peer(work: Path, count: int) -> Path:
    path = work / "peer-big.db"
    with SqliteTree(str(path)) as peer:
        for offset in range(0, count, 10_000):
            chunk = events(min(10_000, count - offset), offset)
            peer.append_entries([e.body(offset + i, _NOW).encode() for i, e in enumerate(chunk)])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the big log")
    parser.add_argument("--append", type=int, default=20_000, help="events per append run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--proofs", type=int, default=200, help="our proofs timed at full size")
    parser.add_argument(
        "--peer-proofs", type=int, default=5, help="pymerkle proofs (about 2 s each at 1M)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bastion-audit-bench-") as tmp:
        work = Path(tmp)
        rates = append_rates(work, args.append, args.repeat)
        log, build = build_big(work, args.events)
        runs = [wall_and_cpu(log.verify) for _ in range(args.repeat)]
        verify, verify_cpu = [w for w, _ in runs], [c for _, c in runs]
        peer_path = build_peer(work, args.events)
        with SqliteTree(str(peer_path), disable_cache=True) as peer:
            peer_root = [timed(peer.get_root) for _ in range(args.repeat)]
            picks = [random.randrange(args.events) for _ in range(args.proofs)]
            ours = [timed(partial(log.prove, s)) for s in picks]
            theirs = [
                timed(partial(peer.prove_inclusion, s + 1)) for s in picks[: args.peer_proofs]
            ]
            proof = log.prove(picks[0])
            peer_proof = peer.prove_inclusion(picks[0] + 1)
        assert proof.leaf_hash == leaf_hash(proof.body.encode())
        report(
            args,
            rates,
            build,
            (verify, verify_cpu, peer_root),
            (ours, theirs),
            (len(proof.path), len(peer_proof.path)),
        )


def report(
    args: argparse.Namespace,
    rates: dict[str, tuple[float, float]],
    build: float,
    verification: tuple[list[float], list[float], list[float]],
    proofs: tuple[list[float], list[float]],
    path_lengths: tuple[int, int],
) -> None:
    """Print the table: metric, bastion, pymerkle, target."""
    med = statistics.median
    n = f"{args.events:,}"
    verify, verify_cpu, peer_root = verification
    ours, theirs = proofs
    mine, peer = path_lengths
    batched, single = rates["batched"], rates["single"]
    rows = [
        (
            "append, 1,000 per call (events/s)",
            f"{batched[0]:,.0f}",
            f"{batched[1]:,.0f}",
            ">= 5,000",
        ),
        ("append, 1 per call (events/s)", f"{single[0]:,.0f}", f"{single[1]:,.0f}", ""),
        (f"build the {n}-event log (events/s)", f"{args.events / build:,.0f}", "", ""),
        (
            f"full verification of {n} (s, wall)",
            f"{med(verify):.1f}",
            f"{med(peer_root):.1f} root only",
            "< 30",
        ),
        (f"full verification of {n} (s, CPU)", f"{med(verify_cpu):.1f}", "", "< 30"),
        (f"inclusion proof at {n} (ms)", f"{med(ours) * 1e3:.2f}", f"{med(theirs) * 1e3:.2f}", ""),
        (
            f"inclusion proof at {n} (hashes/bytes)",
            f"{mine}/{mine * 32}",
            f"{peer}/{peer * 32}",
            "",
        ),
    ]
    print(f"{'metric':44} {'bastion':>12} {'pymerkle 7':>18} {'target':>10}")
    for metric, a, b, target in rows:
        print(f"{metric:44} {a:>12} {b:>18} {target:>10}")
    print(
        f"(medians of {args.repeat} runs, {args.proofs} proofs ({args.peer_proofs} for pymerkle); "
        f"total {time.time() - T0:.0f} s)"
    )


if __name__ == "__main__":
    main()
