"""Server speed (issue 13): the run list and a run's page under 100 concurrent clients.

    .venv/bin/python benchmarks/server.py [--db sqlite|postgres] [--runs 10000] [--jobs 10]

Seeds ``--runs`` runs with ``--jobs`` jobs each by bulk insert (10,000 and 100,000 by
default), adds an admin with an API token, starts a real ``bastion serve`` on a free loopback
port, and drives it with ``--clients`` concurrent httpx clients, each sending ``--requests``
requests one ``--interval`` apart (a person on a page; 0: back to back, a closed loop
measuring throughput), a bounded loop that stops by itself, alternating ``GET /api/runs``
(the first page, 50 runs) and ``GET /api/runs/{id}`` (a random run, its jobs and steps).
Prints p50/p99/max latency per route and requests per second. PostgreSQL is the machine's
server over its Unix socket, in a database of its own created and dropped by the benchmark.

Then ``--viewers`` clients (100) follow one running job's live log (Server-Sent Events) and
the benchmark appends ``--lines`` lines to its file, one ``--line-interval`` apart: the delay
from a line written to the file until each viewer receives it, p50/p99 over every viewer
and line. More than 4 viewers start the server with the per-caller viewer limit raised.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

from bastion.server import Accounts, Permission, Role, ServerSettings
from bastion.server.clock import system_clock
from bastion.server.principal import TokenScope
from bastion.server.tokens import ApiTokens
from bastion.store import JobRecord, RunRecord, open_database

POSTGRES = "postgresql+psycopg://postgres@/{database}?host=/var/run/postgresql"
_BATCH = 5_000


def seed(url: str, runs: int, jobs: int, live_log: Path) -> str:
    """Runs and jobs by bulk insert, then one run whose running job writes ``live_log``;
    an admin; returns the admin's API token."""
    db = open_database(url)
    now = datetime.now(UTC)
    statuses = ["passed", "failed", "blocked", "passed", "error", "cancelled"]
    with db.session() as session:
        for start in range(0, runs, _BATCH):
            rows = [
                {
                    "repo": f"repo-{i % 20}",
                    "commit": f"{i:040x}",
                    "ref": "refs/heads/main",
                    "event": "push",
                    "trust": "trusted",
                    "pipeline_path": ".bastion/pipeline.yml",
                    "pipeline_digest": "sha256:" + "0" * 64,
                    "status": statuses[i % len(statuses)],
                    "created_at": now,
                    "started_at": now,
                    "finished_at": now,
                }
                for i in range(start, min(start + _BATCH, runs))
            ]
            session.execute(insert(RunRecord), rows)
        first = session.scalar(text("SELECT min(id) FROM runs")) or 1
        for start in range(0, runs * jobs, _BATCH):
            job_rows = [
                {
                    "run_id": first + n // jobs,
                    "name": f"job-{n % jobs}",
                    "kind": "gate" if n % jobs else "build",
                    "status": "passed",
                    "started_at": now,
                    "finished_at": now,
                }
                for n in range(start, min(start + _BATCH, runs * jobs))
            ]
            session.execute(insert(JobRecord), job_rows)
        live = RunRecord(**{**rows[0], "status": "running", "finished_at": None})
        live.jobs.append(JobRecord(name="live", kind="build", status="running",
                                   log_path=str(live_log), started_at=now))  # fmt: skip
        session.add(live)
    settings = ServerSettings("127.0.0.1", 8080, url)
    user, _setup = Accounts(db, settings, system_clock).add("bench", Role.ADMIN)
    scope = TokenScope(frozenset({"*"}), frozenset(Permission))
    _info, token = ApiTokens(db, settings, system_clock).create(user.id, "bench", scope, 1)
    db.dispose()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(url: str, home: Path, viewers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, HOME=str(home), BASTION_HOME=str(home / ".bastion"))
    bastion = Path(sys.executable).with_name("bastion")
    argv = [str(bastion), "serve", "--bind", f"127.0.0.1:{port}", "--db", url]
    if viewers > 4:  # one caller here; the default allows 4 live logs per caller, 64 in all
        argv += ["--log-viewers", f"{viewers}/{max(viewers, 64)}"]
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=1):  # noqa: S310 - loopback
                return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"bastion serve did not start:\n{(home / 'serve.log').read_text()}")


async def drive(
    base: str, token: str, run_ids: range, clients: int, requests: int, interval: float
) -> tuple[dict[str, list[float]], float]:
    """Per route, every latency (s); and the wall time of the whole load."""
    latencies: dict[str, list[float]] = {"run list": [], "run page": []}
    headers = {"Authorization": f"Bearer {token}"}
    start, connected, waiting = asyncio.Event(), asyncio.Event(), [clients]

    async def client(seed: int) -> None:
        # A client of its own per caller, with its one kept-alive connection: one shared
        # httpx pool of 100 connections scans them all on every request, and that client
        # CPU (most of a core) was taken from the server on this 2-core machine.
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await http.get("/api/health")  # connected before the clock starts
            waiting[0] -= 1
            if not waiting[0]:
                connected.set()
            await start.wait()
            rnd = random.Random(seed)
            begin = time.perf_counter() + rnd.uniform(0, interval)  # spread over a period
            for n in range(requests):
                await asyncio.sleep(max(0.0, begin + n * interval - time.perf_counter()))
                route = "run list" if n % 2 == 0 else "run page"
                path = "/api/runs" if n % 2 == 0 else f"/api/runs/{rnd.choice(run_ids)}"
                started = time.perf_counter()
                response = await http.get(path, headers=headers)
                latencies[route].append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await http.get("/api/runs", headers=headers)  # warm up
    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    await connected.wait()
    started = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - started


async def watch_log(
    base: str, token: str, run_id: int, log: Path, viewers: int, lines: int, interval: float
) -> list[float]:
    """Every delay (s) from a line appended to ``log`` until a viewer received it.

    Each line carries the monotonic time it was written at (CLOCK_MONOTONIC is one clock for
    the whole machine; writer and viewers share this process anyway). A ``ready`` line first
    shows that every stream is open and reading.
    """
    delays: list[float] = []
    ready = asyncio.Event()
    seen = [0]
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=viewers, max_keepalive_connections=viewers)
    path = f"/api/runs/{run_id}/jobs/live/log"

    async def viewer(http: httpx.AsyncClient) -> None:
        got = 0
        async with http.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                text = json.loads(line.removeprefix("data: "))
                if text == "ready":
                    seen[0] += 1
                    if seen[0] == viewers:
                        ready.set()
                    continue
                delays.append(time.monotonic() - float(text))
                got += 1
                if got == lines:
                    return

    def append(text: str) -> None:
        with log.open("a") as handle:
            handle.write(text + "\n")

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        tasks = [asyncio.create_task(viewer(http)) for _ in range(viewers)]
        while not ready.is_set():  # until every viewer has its stream open
            append("ready")
            try:
                await asyncio.wait_for(ready.wait(), 2)
            except TimeoutError:
                seen[0] = 0
        rnd = random.Random(0)
        for _ in range(lines):
            await asyncio.sleep(interval * rnd.uniform(0.5, 1.5))
            append(f"{time.monotonic():.6f}")
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
    return delays


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def _report(latencies: dict[str, list[float]], wall: float, clients: int, requests: int) -> None:
    total = sum(len(v) for v in latencies.values())
    print(f"{clients} clients x {requests} requests: {total / wall:.0f} requests/s")
    print(f"{'route':10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for route, values in latencies.items():
        p50, p99 = _quantile(values, 0.5) * 1000, _quantile(values, 0.99) * 1000
        print(f"{route:10} {len(values):6} {p50:8.1f} {p99:8.1f} {max(values) * 1000:8.1f}")


def _postgres(sql: str) -> None:
    """``sql`` on the server's maintenance database, outside a transaction."""
    engine = create_engine(POSTGRES.format(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=10, help="jobs per run")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between a client's requests (0: none)"
    )
    parser.add_argument("--viewers", type=int, default=100, help="live-log viewers (0: none)")
    parser.add_argument("--lines", type=int, default=20, help="log lines the viewers wait for")
    parser.add_argument("--line-interval", type=float, default=0.2, help="seconds between lines")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    live_log = home / "live.log"
    live_log.touch()
    database = f"bastion_bench_{uuid.uuid4().hex[:8]}"
    if args.db == "sqlite":
        url = f"sqlite:///{home / 'server.db'}"
    else:
        _postgres(f'CREATE DATABASE "{database}"')
        url = POSTGRES.format(database=database)
    delays: list[float] = []
    try:
        t0 = time.perf_counter()
        token = seed(url, args.runs, args.jobs, live_log)
        print(f"seeded {args.runs} runs, {args.runs * args.jobs} jobs in "
              f"{time.perf_counter() - t0:.1f} s ({args.db})")  # fmt: skip
        process, base = start_server(url, home, args.viewers)
        try:
            latencies, wall = asyncio.run(
                drive(
                    base, token, range(1, args.runs + 1), args.clients, args.requests, args.interval
                )
            )
            if args.viewers:
                live = args.runs + 1  # the run seeded last
                delays = asyncio.run(
                    watch_log(
                        base, token, live, live_log, args.viewers, args.lines, args.line_interval
                    )
                )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    finally:
        if args.db == "postgres":
            _postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _report(latencies, wall, args.clients, args.requests)
    if delays:
        p50, p99 = _quantile(delays, 0.5) * 1000, _quantile(delays, 0.99) * 1000
        print(f"{args.viewers} live-log viewers x {args.lines} lines: delay p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {max(delays) * 1000:.1f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
