"""Proxy network mode: a job reaches the egress proxy's Unix socket and nothing else."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, NetworkMode, NetworkPolicy, SandboxSpec

pytestmark = pytest.mark.integration

_CLIENT = """
import os, socket, sys, urllib.request
print("proxy", os.environ["HTTP_PROXY"], os.environ["NO_PROXY"])
body = urllib.request.urlopen("http://allowed.example/path", timeout=5).read()
print("body", body.decode())
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
    print("DIRECT CONNECTED")
except OSError as exc:
    print("direct refused", type(exc).__name__)
"""


class FakeEgressProxy:
    """A host-side Unix-socket HTTP server that answers every request and records it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.requests: list[bytes] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        path.chmod(0o666)  # the job's uid must be able to connect
        self._server.listen()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            data, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
            if fds:  # the forwarder passed the job's connection itself
                conn.close()
                conn, data = socket.socket(fileno=fds[0]), b""
            with conn:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                body = b"hello via proxy"
                head = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                conn.sendall(head + body)

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[FakeEgressProxy]:
    server = FakeEgressProxy(tmp_path / "egress.sock")
    yield server
    server.close()


def test_job_reaches_proxy_socket_and_nothing_else(
    sandbox: BubblewrapSandbox, workspace: Path, proxy: FakeEgressProxy
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as direct:
        port = direct.getsockname()[1]
        spec = SandboxSpec(
            argv=[sys.executable, "-I", "-c", _CLIENT, str(port)],
            workspace=workspace,
            network=NetworkPolicy(NetworkMode.PROXY, proxy.path),
        )
        chunks: list[bytes] = []
        result = sandbox.run(spec, chunks.append)
        direct.settimeout(0.2)
        with pytest.raises(TimeoutError):
            direct.accept()
    output = b"".join(chunks).decode()
    assert result.exit_code == 0, output
    assert "proxy http://127.0.0.1:3128 localhost,127.0.0.1" in output
    assert "body hello via proxy" in output
    assert "direct refused ConnectionRefusedError" in output
    assert proxy.requests[0].startswith(b"GET http://allowed.example/path HTTP/1.1\r\n")


def test_proxy_mode_needs_a_socket(sandbox: BubblewrapSandbox, workspace: Path) -> None:
    spec = SandboxSpec(argv=["true"], workspace=workspace, network=NetworkPolicy(NetworkMode.PROXY))
    with pytest.raises(SandboxError, match="socket"):
        sandbox.run(spec, lambda _: None)


def test_proxy_mode_refuses_custom_rootfs(
    sandbox: BubblewrapSandbox, workspace: Path, proxy: FakeEgressProxy, tmp_path: Path
) -> None:
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    spec = SandboxSpec(
        argv=["true"],
        workspace=workspace,
        rootfs=rootfs,
        network=NetworkPolicy(NetworkMode.PROXY, proxy.path),
    )
    with pytest.raises(SandboxError, match="custom rootfs"):
        sandbox.run(spec, lambda _: None)
