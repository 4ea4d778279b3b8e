"""A canary listener on the sandbox's loopback: proof that the service fetched a URL we gave.

>>> import urllib.request
>>> with Canary() as canary:
...     _ = urllib.request.urlopen(canary.url("t0k3n")).read()
...     canary.heard("t0k3n"), canary.heard("other")
(True, False)
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["Canary"]


class _Heard(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.paths: set[str] = set()
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Heard

    def do_GET(self) -> None:
        """Record the path, answer a tiny body."""
        with self.server.lock:
            self.server.paths.add(self.path.lstrip("/"))
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"canary")

    do_HEAD = do_GET
    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the gate's output is the job log."""


class Canary:
    """A listener on 127.0.0.1 (a free port) that remembers every path requested."""

    def __init__(self) -> None:
        self._server = _Heard()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, token: str) -> str:
        """The URL whose request proves the service fetched ``token``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{token}"

    def heard(self, token: str) -> bool:
        """Whether a request for :meth:`url` of ``token`` arrived."""
        with self._server.lock:
            return any(path.startswith(token) for path in self._server.paths)

    def __enter__(self) -> Canary:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
