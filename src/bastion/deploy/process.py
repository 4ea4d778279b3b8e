"""The local target: a Python zipapp from the artifact store, run and supervised by Bastion.

The release file is copied out of the store and re-hashed, so the process runs exactly the
digest that verified. The service listens on 127.0.0.1:``$PORT`` and answers its health
path with 200. Processes run in their own session and outlive the ``bastion`` command; the
state file records their pid and port.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bastion.deploy.interface import DeployError
from bastion.supplychain import BlobStore, Digest, digest_file

__all__ = [
    "free_port",
    "health_ok",
    "listener_pid",
    "materialize",
    "running_release",
    "start_service",
    "stop_service",
    "wait_healthy",
]

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # started here, reaped on stop
_STOP_TIMEOUT = 5.0
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_PICK_SPAN = 12000  # ports below the ephemeral range to pick from
_PICK_TRIES = 64
_PICK = random.SystemRandom()  # not seeded by tests that seed the random module


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections (32768 by default)."""
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now, picked at random below the kernel's
    ephemeral range: a port the kernel handed out (bind to 0) may be taken by any outgoing
    connection between this probe and the listener's own bind, and HAProxy or the service
    then fails with "address already in use" (seen under parallel tests)."""
    high = _ephemeral_low()
    low = max(1024, high - _PICK_SPAN)
    for _ in range(_PICK_TRIES):
        port = _PICK.randrange(low, high)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # that band is full: let the kernel choose
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def materialize(store: BlobStore, digest: Digest, releases: Path) -> Path:
    """Copy the blob to ``releases/<hex>.pyz`` (read-only) and check its digest again."""
    releases.mkdir(parents=True, exist_ok=True)
    target = releases / f"{digest.removeprefix('sha256:')}.pyz"
    if not target.exists():
        partial = target.with_suffix(".part")
        partial.write_bytes(store.read(digest))
        partial.chmod(0o444)
        partial.replace(target)
    found, _ = digest_file(target)
    if found != digest:
        raise DeployError(f"{target}: release holds {found}, not {digest}")
    return target


def start_service(release: Path, port: int, log: Path) -> int:
    """Start ``python release`` with ``PORT`` set, in its own session; return its pid."""
    env = {"PORT": str(port), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, str(release)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
                start_new_session=True,
            )
    except OSError as exc:
        raise DeployError(f"could not start {release}: {exc}") from exc
    _CHILDREN[proc.pid] = proc
    return proc.pid


def _alive(pid: int) -> bool:
    proc = _CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_service(pid: int) -> None:
    """SIGTERM the service's session, SIGKILL after 5 s; a process already gone is fine."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + _STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            break
    proc = _CHILDREN.pop(pid, None)
    if proc is not None:
        proc.wait(timeout=_STOP_TIMEOUT)


def health_ok(port: int, path: str, timeout: float = 2.0) -> bool:
    """Whether GET 127.0.0.1:``port``\\ ``path`` answers 200 within ``timeout``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_healthy(pid: int, port: int, path: str, timeout: float = 15.0) -> bool:
    """Poll the health path until 200, the process exits, or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return False
        if health_ok(port, path, timeout=1.0):
            return True
        time.sleep(0.1)
    return False


def listener_pid(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:``port`` (from /proc), if any."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


def running_release(pid: int) -> Path | None:
    """The file a service process runs (its argv[1]), read from /proc."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return Path(os.fsdecode(argv[1])) if len(argv) > 1 and argv[1] else None
