"""A real ``bastion serve`` and a real Chromium for the tests that need them (issue 13).

:func:`live_server` starts ``bastion serve`` as a subprocess on a free loopback port with a
home of its own, waits for ``/api/health`` and stops it with SIGTERM. :func:`chromium` drives
Debian's Chromium (``/usr/bin/chromium``, installed by ``make system-deps``) through
Playwright's bundled driver; Playwright's own browser downloads are never used. A machine
without Chromium fails the test with the command that installs it: browser tests never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

from bastion.server.webhook_store import Webhooks, open_webhook_seal
from bastion.store import Database

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LiveServer", "chromium", "live_server"]

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get update -qq && apt-get install -y -qq chromium  (or: make system-deps)"
# Nothing of Chromium's own reaches out: the suite runs with only loopback anyway.
CHROMIUM_ARGS = [
    "--no-sandbox",  # the suite runs as root in a container; the server is the test subject
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_START_TIMEOUT = 30.0


@dataclass
class LiveServer:
    """A running ``bastion serve``: where it listens, its database, home and stderr log."""

    process: subprocess.Popen[bytes]
    base_url: str
    database_url: str
    env: dict[str, str]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def webhooks(self, db: Database) -> Webhooks:
        """Its webhook settings in ``db``, sealed and opened with its own key (under its
        BASTION_HOME, not this process's)."""
        return Webhooks(db, open_webhook_seal(db, Path(self.env["BASTION_HOME"])))

    def setup_link(self) -> str:
        """The first admin's one-time link, as ``bastion serve`` printed it."""
        found = re.search(r"(http://\S+/setup/\S+)", self.stderr())
        assert found, f"no setup link in the server's output:\n{self.stderr()}"
        return found.group(1)

    def stop(self) -> int:
        """SIGTERM, then wait; the exit status (never killed harder unless it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/api/health", timeout=2) as response:  # noqa: S310 - a loopback URL we built
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"bastion serve exited with {server.process.returncode}:\n{server.stderr()}"
            )
        if _healthy(server.base_url):
            return
        time.sleep(0.1)
    server.stop()
    pytest.fail(f"bastion serve did not answer within {_START_TIMEOUT} s:\n{server.stderr()}")


@contextmanager
def live_server(root: Path) -> Iterator[LiveServer]:
    """``bastion serve`` over a new SQLite database under ``root`` (its HOME too)."""
    home = root / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), BASTION_HOME=str(home / ".bastion"))
    env.pop("BASTION_DATABASE_URL", None)
    url = f"sqlite:///{root / 'server.db'}"
    port = free_port()
    bastion = Path(sys.executable).with_name("bastion")
    log = root / "serve.stderr"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(bastion), "serve", "--bind", f"127.0.0.1:{port}", "--db", url],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", url, env, log)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        server.stop()


@contextmanager
def chromium(profile: Path) -> Iterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile in ``profile``; fails if missing."""
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        pytest.fail(f"{CHROMIUM} is missing; the browser tests need it: {INSTALL}")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,  # Playwright passes --headless itself
            args=CHROMIUM_ARGS,
        )
        try:
            yield context
        finally:
            context.close()
