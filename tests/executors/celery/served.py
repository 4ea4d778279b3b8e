"""A real ``bastion serve --executor celery`` beside real ``bastion worker`` processes.

The server may be killed (SIGKILL) and started again over the same home and database, as an
operator's supervisor would; the workers run in their own sessions with a temporary folder of
their own, so a test can look for sandboxes (``bwrap``) and workspaces they left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.executors.celery.brokers import TOKENS, stop
from tests.server.browser import LiveServer, free_port

__all__ = ["CelerySite", "celery_site"]

START_TIMEOUT = 90.0
"""Seconds a server start may take: a restart on a loaded 2-core CI machine took over 30."""


def _wait_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"bastion serve exited:\n{server.stderr()}")
        try:
            if httpx.get(f"{server.base_url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"bastion serve did not answer in {START_TIMEOUT} s:\n{server.stderr()}")


@dataclass
class CelerySite:
    """One server (restartable) over ``database_url`` and the workers of its trusted pool."""

    root: Path
    broker: str
    database_url: str
    env: dict[str, str]
    server: LiveServer | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker_tmp: list[Path] = field(default_factory=list)
    starts: int = 0

    def start_server(self) -> LiveServer:
        """``bastion serve --executor celery``, until it answers /api/health."""
        self.starts += 1
        log = self.root / f"serve-{self.starts}.stderr"
        port = free_port()
        bastion = Path(sys.executable).with_name("bastion")
        argv = [
            str(bastion), "serve", "--bind", f"127.0.0.1:{port}", "--db", self.database_url,
            "--executor", "celery", "--broker", self.broker,
        ]  # fmt: skip
        with log.open("wb") as sink:
            process = subprocess.Popen(
                argv, env=self.env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
            )
        self.server = LiveServer(
            process, f"http://127.0.0.1:{port}", self.database_url, self.env, log
        )
        _wait_healthy(self.server)
        return self.server

    def kill_server(self) -> None:
        """SIGKILL: no shutdown runs, the run's lock is dropped by the kernel."""
        assert self.server is not None
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait(timeout=10)

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        """A trusted-pool ``bastion worker`` with its own TMPDIR (its workspaces go there)."""
        n = len(self.workers) + 1
        home = self.root / f"worker{n}"
        home.mkdir()
        tmp = Path(tempfile.mkdtemp(prefix="bastion-worker-tmp-"))
        tmp.chmod(0o755)  # like /tmp: the sandbox may reach the workspace below it
        self.worker_tmp.append(tmp)
        env = {**os.environ, "BASTION_HOME": str(home), "TMPDIR": str(tmp)}
        env["BASTION_WORKER_TOKEN"] = TOKENS["trusted"]
        argv = [sys.executable, "-m", "bastion.cli.main", "worker", "--pool", "trusted"]
        with (home / "worker.log").open("ab") as log:
            process = subprocess.Popen(
                [*argv, "--broker", self.broker, *extra],
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.workers.append(process)
        return process

    def worker_logs(self) -> str:
        return "\n".join(
            (self.root / f"worker{n}" / "worker.log").read_text(errors="replace")
            for n in range(1, len(self.workers) + 1)
        )

    def sandboxes(self) -> list[int]:
        """Pids of the ``bwrap`` processes descending from the workers (the sandbox starts
        each in a session of its own, so the tree is followed, not the session)."""
        parents: dict[int, int] = {}
        names: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                comm, rest = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            pid = int(entry.name)
            names[pid] = comm.split("(", 1)[1]
            parents[pid] = int(rest.split()[1])  # field 4: the parent's pid
        workers = {w.pid for w in self.workers}

        def under_a_worker(pid: int) -> bool:
            while pid > 1:
                if pid in workers:
                    return True
                pid = parents.get(pid, 0)
            return False

        return [pid for pid, name in names.items() if name == "bwrap" and under_a_worker(pid)]

    def workspaces(self) -> list[Path]:
        """What is left in the workers' scratch folders (their jobs' workspaces)."""
        return [
            job for tmp in self.worker_tmp for scratch in tmp.iterdir() for job in scratch.iterdir()
        ]

    def close(self) -> None:
        if self.server is not None and self.server.process.poll() is None:
            self.server.stop()
        for worker in self.workers:
            stop(worker)


@contextmanager
def celery_site(root: Path, broker: str, database_url: str) -> Iterator[CelerySite]:
    """A site under ``root``: the server's home holds the pools' tokens the workers use."""
    home = root / "home"
    tokens = home / ".bastion" / "keys" / "workers"
    tokens.mkdir(parents=True, mode=0o700)
    for pool, token in TOKENS.items():
        (tokens / f"{pool}.token").write_text(token)
        (tokens / f"{pool}.token").chmod(0o600)
    env = dict(os.environ, HOME=str(home), BASTION_HOME=str(home / ".bastion"))
    for name in ("BASTION_DATABASE_URL", "BASTION_WORKER_TOKEN"):
        env.pop(name, None)
    site = CelerySite(root, broker, database_url, env)
    try:
        yield site
    finally:
        site.close()
        for tmp in site.worker_tmp:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
