"""HAProxy in front of a local environment: started by Bastion, steered by its runtime API.

One frontend on the environment's port, one backend ``app`` with two servers, ``blue`` and
``green`` (round robin, so weights are exact shares). Weights and server addresses change
through the runtime API on a unix socket (mode 600, level admin) without a reload; the
config file is rewritten from the state only when HAProxy is (re)started.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bastion.deploy.interface import HAProxyError, Slot

__all__ = ["HAProxy", "ServerCounters"]

_START_TIMEOUT = 10.0
_API_TIMEOUT = 3.0
# sun_path is 108 bytes on Linux, but HAProxy keeps 11 for its "<path>.<pid>.tmp" while
# binding and refuses a longer path ("too long (max 97)"): 98-100 failed the start.
_MAX_SOCKET_PATH = 97
_IDLE_PORT = 9  # the discard port: where an empty slot points (weight 0, never used)


def _socket_path(directory: Path) -> Path:
    """The runtime API's socket: in ``directory`` when its path fits ``sun_path``.

    A deep home (a test's temporary folder, say) makes that path too long for a unix socket;
    the socket then lives in a private folder of this user under the temporary directory,
    named by a digest of ``directory`` so every later command finds the same one. The folder
    must be ours, not a link and not open to others, or we stop: another user could
    otherwise pre-create it and sit between Bastion and HAProxy.
    """
    preferred = directory / "haproxy.sock"
    if len(str(preferred)) <= _MAX_SOCKET_PATH:
        return preferred
    private = Path(tempfile.gettempdir()) / f"bastion-{os.getuid()}-haproxy"
    private.mkdir(mode=0o700, exist_ok=True)
    info = private.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise HAProxyError(
            f"{private} is not a private folder of this user: refusing to put the HAProxy "
            "admin socket there",
            hint=f"remove {private} and deploy again",
        )
    name = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:24]
    return private / f"{name}.sock"


@dataclass(frozen=True)
class ServerCounters:
    """HAProxy's cumulative counters of one server: responses, 5xx and failed attempts."""

    responses: int
    errors: int

    def since(self, before: ServerCounters) -> ServerCounters:
        """The counts added after ``before`` was taken."""
        return ServerCounters(self.responses - before.responses, self.errors - before.errors)


class HAProxy:
    """The HAProxy of one environment: its files live in ``directory``."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.config_path = directory / "haproxy.cfg"
        self.socket_path = _socket_path(directory)
        self.pid_path = directory / "haproxy.pid"

    def render(self, servers: dict[Slot, tuple[int, int]]) -> str:
        """The config text; ``servers`` maps a slot to (port, weight), absent slots idle."""
        lines = [
            "global",
            f"    stats socket {self.socket_path} mode 600 level admin",
            f"    pidfile {self.pid_path}",
            "defaults",
            "    mode http",
            "    timeout connect 2s",
            "    timeout client 10s",
            "    timeout server 10s",
            "frontend web",
            f"    bind 127.0.0.1:{self.port}",
            "    default_backend app",
            "backend app",
            "    balance roundrobin",
        ]
        for slot in Slot:
            port, weight = servers.get(slot, (_IDLE_PORT, 0))
            lines.append(f"    server {slot.value} 127.0.0.1:{port} weight {weight}")
        return "\n".join(lines) + "\n"

    def start(self, servers: dict[Slot, tuple[int, int]]) -> int:
        """Write the config, check it, start HAProxy as a daemon; return its pid."""
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            raise HAProxyError("haproxy is not installed", hint="make system-deps")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.render(servers), encoding="utf-8")
        self.socket_path.unlink(missing_ok=True)
        self.pid_path.unlink(missing_ok=True)
        # Not -q: it silences the alerts too, and a refusal (a port in use) would say nothing.
        command = [binary, "-D", "-f", str(self.config_path)]
        try:
            done = subprocess.run(
                command, check=False, capture_output=True, text=True, timeout=_START_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HAProxyError(f"haproxy did not start: {exc}") from exc
        if done.returncode != 0:
            alerts = [line for line in done.stderr.splitlines() if "[ALERT]" in line]
            reason = "\n".join(alerts) or done.stderr.strip()
            raise HAProxyError(f"haproxy refused to start: {reason[-500:]}")
        return self._wait_ready()

    def _wait_ready(self) -> int:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                pid = int(self.pid_path.read_text().split()[0])
                self.command("show info")
                return pid
            except (OSError, ValueError, IndexError, HAProxyError):
                time.sleep(0.05)
        raise HAProxyError(f"haproxy did not answer on {self.socket_path} in {_START_TIMEOUT}s")

    def command(self, line: str) -> str:
        """Send one runtime API command and return the answer; HAProxyError if unreachable."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(_API_TIMEOUT)
                conn.connect(str(self.socket_path))
                conn.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise HAProxyError(f"haproxy runtime API ({self.socket_path}): {exc}") from exc
        answer = b"".join(chunks).decode(errors="replace")
        if answer.startswith(("Unknown command", "No such", "Require")) or "invalid" in answer:
            raise HAProxyError(f"haproxy refused {line!r}: {answer.strip()[:300]}")
        return answer

    def point(self, slot: Slot, port: int) -> None:
        """Send ``slot``'s traffic (weight still 0) to 127.0.0.1:``port``."""
        self.command(f"set server app/{slot.value} addr 127.0.0.1 port {port}")
        self.command(f"set server app/{slot.value} state ready")

    def weigh(self, weights: dict[Slot, int]) -> None:
        """Set both servers' weights (0-256); the one gaining weight is set last."""
        for slot, weight in sorted(weights.items(), key=lambda item: item[1]):
            if not 0 <= weight <= 256:
                raise HAProxyError(f"weight {weight} of {slot.value} is out of 0..256")
            self.command(f"set weight app/{slot.value} {weight}")

    def weights(self) -> dict[Slot, int]:
        """The weights HAProxy applies now."""
        result = {}
        for slot in Slot:
            answer = self.command(f"get weight app/{slot.value}")
            result[slot] = int(answer.split()[0])
        return result

    def counters(self, slot: Slot) -> ServerCounters:
        """``slot``'s cumulative response and error counts from ``show stat``."""
        text = self.command("show stat").lstrip("# ")
        for row in csv.DictReader(text.splitlines()):
            if row.get("pxname") == "app" and row.get("svname") == slot.value:
                hrsp = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")
                failed = _count(row, "econ") + _count(row, "eresp")
                responses = sum(_count(row, key) for key in hrsp) + failed
                return ServerCounters(responses, _count(row, "hrsp_5xx") + failed)
        raise HAProxyError(f"haproxy reports no server app/{slot.value}")

    def stop(self, pid: int | None) -> None:
        """Stop HAProxy (SIGTERM, then SIGKILL after 5 s); a dead one is fine."""
        if pid is None:
            return
        try:
            os.kill(pid, 15)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def _count(row: dict[str, str], key: str) -> int:
    value = row.get(key) or "0"
    return int(value) if value.isdigit() else 0
