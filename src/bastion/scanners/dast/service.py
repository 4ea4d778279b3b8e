"""The service under test: started as a child of the gate, waited for, and stopped.

The gate and the service share one sandbox, so the service listens on the sandbox's private
loopback and nothing outside it can reach it (or be reached from it). A service that exits
or never answers its health URL with 2xx fails the gate with the health URL's last answer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bastion.errors import GateError
from bastion.scanners.dast.client import Exchange, HttpClient

__all__ = ["running_service", "wait_healthy"]

_POLL_SECONDS = 0.1
_STOP_SECONDS = 3.0
_TAIL_LINES = 10


def _answer(exchange: Exchange) -> str:
    if exchange.status == 0:
        return f"no answer ({exchange.error})"
    body = " ".join(exchange.text.split())[:200]
    return f"HTTP {exchange.status}" + (f": {body}" if body else "")


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").rstrip().splitlines()[-_TAIL_LINES:]
    return ("; its last output:\n    " + "\n    ".join(lines)) if lines else ""


def wait_healthy(
    client: HttpClient, health: str, process: subprocess.Popen[bytes], timeout: float, log: Path
) -> None:
    """Return once ``health`` answers 2xx; GateError with the last answer otherwise."""
    path = urllib.parse.urlsplit(health)
    target = (path.path or "/") + (f"?{path.query}" if path.query else "")
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        exchange = client.get(target, kind="health")
        if 200 <= exchange.status < 300:
            return
        last = _answer(exchange)
        code = process.poll()
        if code is not None:
            raise GateError(
                f"bastion/dast: the service exited (status {code}) before {health} was "
                f"healthy; last answer: {last}{_tail(log)}",
                hint="check the `command` option starts the service in the foreground",
            )
        if time.monotonic() >= deadline:
            raise GateError(
                f"bastion/dast: the service never became healthy: {health} did not answer "
                f"2xx within {timeout:g} s; last answer: {last}{_tail(log)}",
                hint="check `health` and the service's port, or raise `health_timeout`",
            )
        time.sleep(_POLL_SECONDS)


@contextmanager
def running_service(command: str, cwd: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Start ``command`` (``/bin/sh -c``) in its own process group; stop it on leaving.

    Its output goes to a file in the sandbox's /tmp, quoted when it fails to start.
    """
    with tempfile.TemporaryDirectory(prefix="bastion-dast-") as scratch:
        log = Path(scratch) / "service.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["/bin/sh", "-c", command],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield process, log
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the service's process group, then SIGKILL whatever of it is left."""
    _signal_group(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_STOP_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, sig)
