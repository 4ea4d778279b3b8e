"""Egress proxy cost: a 100 MB download and per-request latency, proxy vs direct.

    .venv/bin/python benchmarks/egress.py [--size-mb 100] [--rounds 5] [--requests 300]

The "outside" is a loopback HTTP server; the direct client connects to it over TCP. The
proxied client sends the same request as an absolute-URI proxy request, two ways: to the
proxy's Unix socket (the proxy alone), and over TCP to the in-sandbox forwarder
(``bastion.sandbox.forwarder``, run here in a thread) that relays to that socket: the whole
path a job's HTTP client takes. Targets: proxied throughput at least 80 % of direct, added
median latency per request under 2 ms.
"""

from __future__ import annotations

import argparse
import http.server
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bastion.sandbox import forwarder
from bastion.sandbox.egress import AllowList, EgressProxy, EgressRecord

_BUFFER = 1024 * 1024


def _make_handler(payload: bytes) -> type[http.server.BaseHTTPRequestHandler]:
    view = memoryview(payload)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            body = view if self.path == "/big" else memoryview(b"ok")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _read_response(sock: socket.socket) -> int:
    """Read one response with a Content-Length body; returns body bytes."""
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("closed before the head ended")
        head += data
    raw_head, _, rest = head.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in raw_head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    remaining = length - len(rest)
    buffer = bytearray(_BUFFER)
    while remaining > 0:
        got = sock.recv_into(buffer, min(remaining, _BUFFER))
        if not got:
            raise RuntimeError("closed before the body ended")
        remaining -= got
    return length


def _direct(port: int, path: str) -> int:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        return _read_response(sock)


def _proxied(proxy: Path | int, port: int, path: str) -> int:
    family = socket.AF_UNIX if isinstance(proxy, Path) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if isinstance(proxy, Path):
            sock.connect(str(proxy))
        else:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(("127.0.0.1", proxy))
        request = f"GET http://127.0.0.1:{port}{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        sock.sendall(request.encode())
        return _read_response(sock)


def _fetch(route: Path | int | None, port: int, path: str) -> int:
    return _direct(port, path) if route is None else _proxied(route, port, path)


def _timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(b"z" * size))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    records: list[EgressRecord] = []
    with tempfile.TemporaryDirectory() as tmp:
        proxy = EgressProxy(AllowList.parse([f"127.0.0.1:{port}"]), records.append, job="bench")
        proxy_socket = Path(tmp) / "egress.sock"
        proxy.start(proxy_socket)
        relay = socket.create_server(("127.0.0.1", 0))
        threading.Thread(
            target=forwarder.serve, args=(relay, str(proxy_socket)), daemon=True
        ).start()
        routes: dict[str, Path | int | None] = {
            "direct": None,
            "proxy (unix socket)": proxy_socket,
            "forwarder + proxy": relay.getsockname()[1],
        }
        rates: dict[str, list[float]] = {name: [] for name in routes}
        latency: dict[str, list[float]] = {name: [] for name in routes}
        try:
            for _ in range(args.rounds):  # interleaved so machine noise hits all alike
                for name, route in routes.items():
                    rates[name].append(_timed(_fetch, route, port, "/big"))
            for _ in range(args.requests):
                for name, route in routes.items():
                    latency[name].append(_timed(_fetch, route, port, "/small"))
        finally:
            relay.close()
            proxy.stop()
    server.shutdown()
    mb = size / 1e6
    direct_rate = mb / statistics.median(rates["direct"])
    direct_ms = statistics.median(latency["direct"]) * 1000
    print(
        f"download {args.size_mb} MiB (median of {args.rounds}) | latency (median of "
        f"{args.requests}, new connection each)"
    )
    for name in routes:
        rate = mb / statistics.median(rates[name])
        ms = statistics.median(latency[name]) * 1000
        print(
            f"  {name:20} {rate:8.1f} MB/s {100 * rate / direct_rate:5.0f} % | "
            f"{ms:6.3f} ms  +{ms - direct_ms:.3f} ms"
        )
    print("targets: proxied >= 80 % of direct throughput, < 2 ms added median latency")
    print(f"records logged by the proxy: {len(records)}")


if __name__ == "__main__":
    main()
