"""Server speed (issue 13): the run list and a run's page under 100 concurrent clients.

    .venv/bin/python benchmarks/server.py [--db sqlite|postgres] [--runs 10000] [--jobs 10]

Seeds ``--runs`` runs with ``--jobs`` jobs each by bulk insert (10,000 and 100,000 by
default), adds an admin with an API token, starts a real ``bastion serve`` on a free loopback
port, and drives it with ``--clients`` concurrent httpx clients, each sending ``--requests``
requests one ``--interval`` apart (a person on a page; 0: back to back, a closed loop
measuring throughput), a bounded loop that stops by itself, alternating ``GET /api/runs``
(the first page, 50 runs) and ``GET /api/runs/{id}`` (a random run, its jobs and steps).
Prints p50/p99/max latency per route and requests per second. PostgreSQL is the machine's
server over its Unix socket, in a schema of its own dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
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

POSTGRES = "postgresql+psycopg://postgres@/test?host=/var/run/postgresql"
_BATCH = 5_000


def seed(url: str, runs: int, jobs: int) -> str:
    """Runs and jobs by bulk insert, an admin; returns the admin's API token."""
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


def start_server(url: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, HOME=str(home), BASTION_HOME=str(home / ".bastion"))
    bastion = Path(sys.executable).with_name("bastion")
    argv = [str(bastion), "serve", "--bind", f"127.0.0.1:{port}", "--db", url]
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
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient, seed: int) -> None:
        rnd = random.Random(seed)
        begin = time.perf_counter() + rnd.uniform(0, interval)  # clients spread over a period
        for n in range(requests):
            await asyncio.sleep(max(0.0, begin + n * interval - time.perf_counter()))
            route = "run list" if n % 2 == 0 else "run page"
            path = "/api/runs" if n % 2 == 0 else f"/api/runs/{rnd.choice(run_ids)}"
            started = time.perf_counter()
            response = await http.get(path, headers=headers)
            latencies[route].append(time.perf_counter() - started)
            assert response.status_code == 200, response.text

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        await http.get("/api/runs", headers=headers)  # warm up
        started = time.perf_counter()
        await asyncio.gather(*(client(http, i) for i in range(clients)))
        return latencies, time.perf_counter() - started


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


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
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    if args.db == "sqlite":
        url = f"sqlite:///{home / 'server.db'}"
    else:
        with create_engine(POSTGRES).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES}&options=-csearch_path%3D{schema}"
    try:
        t0 = time.perf_counter()
        token = seed(url, args.runs, args.jobs)
        print(f"seeded {args.runs} runs, {args.runs * args.jobs} jobs in "
              f"{time.perf_counter() - t0:.1f} s ({args.db})")  # fmt: skip
        process, base = start_server(url, home)
        try:
            latencies, wall = asyncio.run(
                drive(
                    base, token, range(1, args.runs + 1), args.clients, args.requests, args.interval
                )
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    finally:
        if args.db == "postgres":
            with create_engine(POSTGRES).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    total = sum(len(v) for v in latencies.values())
    print(f"{args.clients} clients x {args.requests} requests: {total / wall:.0f} requests/s")
    print(f"{'route':10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for route, values in latencies.items():
        p50, p99 = _quantile(values, 0.5) * 1000, _quantile(values, 0.99) * 1000
        print(f"{route:10} {len(values):6} {p50:8.1f} {p99:8.1f} {max(values) * 1000:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
