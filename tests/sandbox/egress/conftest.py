"""Loopback "outside world" for the egress proxy tests: an HTTP server and a proxy client."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.sandbox.egress import AllowList, EgressPolicy, EgressProxy, EgressRecord, Resolver

from .egress_support import ProxyFactory


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _send(self, body: bytes, *, chunked: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 7):
                piece = body[start : start + 7]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/bytes/"):
            self._send(b"x" * int(self.path.removeprefix("/bytes/")))
        elif self.path == "/chunked":
            self._send(b"chunked body from the loopback server", chunked=True)
        elif self.path == "/host":
            self._send(self.headers.get("Host", "").encode())
        else:
            self._send(b"hello from " + self.path.encode())

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().strip(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(b"echo:" + body)


@pytest.fixture
def origin() -> Iterator[int]:
    """A loopback HTTP/1.1 server; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def start_proxy(tmp_path: Path) -> Iterator[ProxyFactory]:
    """Start proxies for a test (an allow-list or a policy, and an optional resolver)."""
    started: list[EgressProxy] = []

    def start(
        allow: list[str] | EgressPolicy, resolver: Resolver | None = None
    ) -> tuple[EgressProxy, Path, list[EgressRecord]]:
        policy = AllowList.parse(allow) if isinstance(allow, list) else allow
        records: list[EgressRecord] = []
        proxy = EgressProxy(policy, records.append, job="test-job", resolver=resolver)
        path = tmp_path / f"egress-{len(started)}.sock"
        proxy.start(path)
        started.append(proxy)
        return proxy, path, records

    yield start
    for proxy in started:
        proxy.stop()
