"""Private Redis and RabbitMQ servers and ``bastion worker`` processes for the tests.

The suite runs in a network namespace with only loopback: the machine's own brokers are out
of reach, so each test module starts its own on a free port in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "TOKENS",
    "free_port",
    "rabbitmq_server",
    "redis_server",
    "restart_rabbitmq",
    "restartable_redis",
    "start_worker",
    "stop",
]

TOKENS = {"untrusted": "u" * 64, "trusted": "t" * 64, "release": "r" * 64}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def stop(process: subprocess.Popen[bytes], how: int = signal.SIGTERM) -> None:
    """Stop ``process`` (and wait for it, bounded)."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    """redis-server on ``port``, nothing persisted: a restart loses every queue."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_port(port, 10)
    return process


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    with restartable_redis(directory) as (url, _restart):
        yield url


@contextmanager
def restartable_redis(directory: Path) -> Iterator[tuple[str, Callable[[float], None]]]:
    """A private Redis and ``restart(down_seconds)``: stopped, then started again on the
    same port with nothing kept (the worst case for queued jobs)."""
    port = free_port()
    processes = [_start_redis(port, directory)]

    def restart(down: float) -> None:
        stop(processes[-1])
        time.sleep(down)
        processes.append(_start_redis(port, directory))

    try:
        yield f"redis://127.0.0.1:{port}/0", restart
    finally:
        stop(processes[-1])


@contextmanager
def rabbitmq_server(parent: Path) -> Iterator[str]:
    """A private RabbitMQ node (and epmd); about 8 s to start here.

    Its directory is made under /tmp, not ``parent`` (pytest's are 0700, and the server
    drops to the ``rabbitmq`` user, which must reach it).
    """
    directory = Path(tempfile.mkdtemp(prefix="bastion-rabbitmq-"))
    port, dist, epmd_port = free_port(), free_port(), free_port()
    for sub in ("mnesia", "log"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "enabled_plugins").write_text("[].\n")
    (directory / "rabbitmq.conf").write_text("loopback_users = none\n")
    shutil.chown(directory, "rabbitmq", "rabbitmq")
    for path in directory.rglob("*"):
        shutil.chown(path, "rabbitmq", "rabbitmq")
    node = f"bastiontest{os.getpid()}{port}@localhost"
    env = {
        **os.environ,
        "HOME": str(directory),
        "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
        "RABBITMQ_LOG_BASE": str(directory / "log"),
        "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
        "RABBITMQ_FEATURE_FLAGS_FILE": str(directory / "feature_flags"),
        "RABBITMQ_PID_FILE": str(directory / "pid"),
    }
    _RABBIT_ENV[port] = env
    epmd = subprocess.Popen(["epmd", "-port", str(epmd_port)], env=env)
    server = subprocess.Popen(
        ["rabbitmq-server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(port, 60)
        yield f"amqp://guest:guest@127.0.0.1:{port}//"
    finally:
        subprocess.run(
            ["rabbitmqctl", "-n", node, "stop"], env=env, timeout=30, capture_output=True,
            check=False,
        )  # fmt: skip
        stop(server)
        stop(epmd)
        shutil.rmtree(directory, ignore_errors=True)
        _RABBIT_ENV.pop(port, None)


_RABBIT_ENV: dict[int, dict[str, str]] = {}


def restart_rabbitmq(url: str, down: float) -> None:
    """Stop the RabbitMQ application of the private node behind ``url`` (every connection
    closed, transient queues gone), wait ``down`` seconds, start it again."""
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    env = _RABBIT_ENV[port]
    for action in ("stop_app", "start_app"):
        subprocess.run(
            ["rabbitmqctl", "-n", env["RABBITMQ_NODENAME"], action], env=env, timeout=60,
            capture_output=True, check=True,
        )  # fmt: skip
        if action == "stop_app":
            time.sleep(down)
    _wait_port(port, 60)


def start_worker(
    broker: str, pool: str, home: Path, *, token: str | None = None
) -> subprocess.Popen[bytes]:
    """A real ``bastion worker`` process of ``pool`` (its own process group)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BASTION_HOME": str(home), "BASTION_WORKER_TOKEN": token or TOKENS[pool]}
    with (home / "worker.log").open("ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bastion.cli.main",
                "worker",
                "--pool",
                pool,
                "--broker",
                broker,
            ],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
