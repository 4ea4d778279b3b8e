"""Egress proxy cost: a 100 MB download and per-request latency, proxy vs direct.

    .venv/bin/python benchmarks/egress.py [--size-mb 100] [--rounds 11] [--requests 300]

The "outside" is a loopback HTTP server in its own process; the direct client connects to it
over TCP. The proxied client sends the same request as an absolute-URI proxy request, two
ways: to the proxy's Unix socket (the proxy alone, in this process as in ``bastion run``),
and over TCP to the in-sandbox forwarder, started as a sandbox starts it (its own
``python -I -S forwarder.py`` process): the whole path a job's HTTP client takes. The
forwarder either relays each connection's bytes to that socket (copied), or passes the
connection itself to the proxy (``--pass-connections``). Targets: proxied throughput at
least 80 % of direct, added median latency per request under 2 ms.
"""

from __future__ import annotations

import argparse
import http.server
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bastion.sandbox.egress import AllowList, EgressProxy, EgressRecord
from bastion.sandbox.runtime import forwarder_command

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


def _serve(size: int) -> None:
    """The "outside" server (child process): prints its port, serves until killed."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(b"z" * size))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def _start_forwarder(proxy_socket: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    """The forwarder as a sandbox runs it, its command a long sleep; waits until it listens."""
    port = _free_port()
    command = forwarder_command(str(proxy_socket), f"127.0.0.1:{port}")
    argv = [arg for arg in command if arg != "--pass-connections"]  # each route says its mode
    argv[-1:-1] = extra  # options go before the final "--"
    argv += ["sleep", "3600"]
    process = subprocess.Popen(argv)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError("the forwarder did not start listening")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        _serve(args.serve)
        return
    size = args.size_mb * 1024 * 1024
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(size)], stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    records: list[EgressRecord] = []
    with tempfile.TemporaryDirectory() as tmp:
        proxy = EgressProxy(AllowList.parse([f"127.0.0.1:{port}"]), records.append, job="bench")
        proxy_socket = Path(tmp) / "egress.sock"
        proxy.start(proxy_socket)
        relay, relay_port = _start_forwarder(proxy_socket)
        passer, passer_port = _start_forwarder(proxy_socket, "--pass-connections")
        routes: dict[str, Path | int | None] = {
            "direct": None,
            "proxy (unix socket)": proxy_socket,
            "forwarder relays": relay_port,
            "forwarder passes": passer_port,
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
            for process in (relay, passer):
                process.terminate()
                process.wait()
            proxy.stop()
    server.kill()
    server.wait()
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
