"""Registries for the push tests: Debian's docker-registry on loopback, and a scripted fake."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["FakeRegistry", "docker_registry", "fake_registry"]

REGISTRY_BINARY = Path("/usr/bin/docker-registry")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def docker_registry(directory: Path) -> Iterator[str]:
    """A real registry (distribution) on a loopback port, storing under ``directory``."""
    port = _free_port()
    storage = directory / "storage"
    storage.mkdir(parents=True)
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (directory / "registry.log").open("wb")
    process = subprocess.Popen(
        [str(REGISTRY_BINARY), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait(f"http://127.0.0.1:{port}/v2/", process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("docker-registry did not answer within 20 s")


class FakeRegistry(http.server.ThreadingHTTPServer):
    """Accepts blobs and digest manifests; answers ``status`` to the first tag ``PUT``
    (or to everything when ``everything``), recording each request line."""

    def __init__(self, status: int, *, everything: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status, self.everything = status, everything
        self.requests: list[str] = []

    @property
    def address(self) -> str:
        """host:port."""
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeRegistry

    def log_message(self, *_: object) -> None:
        pass

    def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        body = b""
        if status >= 400:
            code = "UNAUTHORIZED" if status == 401 else "UNKNOWN"
            text = "authentication required" if status == 401 else "storage backend is down"
            body = json.dumps({"errors": [{"code": code, "message": text}]}).encode()
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="authentication required"')
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.requests.append(f"{self.command} {self.path}")
        tag_put = (
            self.command == "PUT" and "/manifests/" in self.path and "sha256:" not in self.path
        )
        if self.server.everything or tag_put:
            self._answer(self.server.status)
        elif self.command == "HEAD":
            self._answer(404)
        elif self.command == "POST":
            self._answer(202, {"Location": "/v2/app/blobs/uploads/u1?state=x"})
        else:
            self._answer(201)

    do_GET = do_HEAD = do_POST = do_PUT = _handle


@contextmanager
def fake_registry(status: int, *, everything: bool = False) -> Iterator[FakeRegistry]:
    """A :class:`FakeRegistry` serving on a loopback port for the duration."""
    server = FakeRegistry(status, everything=everything)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
