"""Inside a proxy-mode sandbox: relay TCP connections on loopback to the egress proxy socket.

    python -m bastion.sandbox.forwarder --socket /run/bastion/egress.sock \\
        --listen 127.0.0.1:3128 [--pass-connections] -- make test

The sandbox has no network interface but its own loopback, and the only way out is the egress
proxy's Unix socket bound inside. HTTP clients speak TCP to a proxy, so this listens on
loopback, relays every accepted connection to the socket, or with ``--pass-connections``
passes the connection itself to the proxy (which then reads and writes the job's connection
directly; :class:`~bastion.sandbox.egress.EgressProxy` accepts both), runs the command as its
child and exits with the child's code. It imports only the standard library so the sandbox
can run it as a plain file (``python -I -S forwarder.py``), without Bastion's packages or site.

Why pass the connection rather than relay it: a relay is one more copy of every byte and two
threads per connection; measured on a 2-core machine (``benchmarks/egress.py``), the whole
path reached 42-70 % of the direct download rate relayed, and 84-94 % passed. Without
``--pass-connections``, or if the kernel refuses to pass one, the connection is relayed by
copying through one buffer per direction (``splice(2)`` through a pipe was measured slower
between these sockets, as in :mod:`bastion.sandbox.egress.wire`).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import FrameType

__all__ = ["HANDOFF_MARKER", "hand_over", "main", "relay", "serve"]

_CHUNK = 1024 * 1024  # large: fewer wake-ups on both sides of a bulk transfer
_CONNECT_TIMEOUT = 10.0
HANDOFF_MARKER = b"\x00"
"""Sent with a passed connection; must equal ``bastion.sandbox.egress.handoff.MARKER``
(this file imports nothing from Bastion)."""


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until EOF or an error, then half-close ``sink``."""
    try:
        buffer = memoryview(bytearray(_CHUNK))
        while got := source.recv_into(buffer):
            sink.sendall(buffer[:got])
    except (OSError, MemoryError):
        pass  # one side went away (or the job's memory limit): the half-close tells the other
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _connect(client: socket.socket, socket_path: str) -> socket.socket | None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upstream.settimeout(_CONNECT_TIMEOUT)
    try:
        upstream.connect(socket_path)
    except OSError as exc:
        print(f"bastion forwarder: egress proxy unreachable: {exc}", file=sys.stderr)
        upstream.close()
        client.close()
        return None
    upstream.settimeout(None)
    return upstream


def _relay_over(client: socket.socket, upstream: socket.socket) -> None:
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def relay(client: socket.socket, socket_path: str) -> None:
    """Relay one accepted connection to the Unix socket, both ways, then close both."""
    upstream = _connect(client, socket_path)
    if upstream is not None:
        _relay_over(client, upstream)


def hand_over(client: socket.socket, socket_path: str) -> None:
    """Pass ``client`` itself to the proxy (``SCM_RIGHTS``); relay its bytes if refused.

    The proxy then relays between the destination and the job's connection directly: no
    byte passes through this process (see :mod:`bastion.sandbox.egress.handoff`).
    """
    upstream = _connect(client, socket_path)
    if upstream is None:
        return
    try:
        socket.send_fds(upstream, [HANDOFF_MARKER], [client.fileno()])
    except OSError:
        # Nothing was sent (e.g. a security module forbids passing descriptors): the same
        # connection still carries the bytes.
        threading.Thread(target=_relay_over, args=(client, upstream), daemon=True).start()
        return
    client.close()
    upstream.close()


def serve(listener: socket.socket, socket_path: str, *, pass_sockets: bool = False) -> None:
    """Accept connections forever; hand each to the proxy, or relay it in its own thread."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        # Requests are small writes: without NODELAY each one may wait for a delayed ACK.
        with contextlib.suppress(OSError):
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if pass_sockets:
            hand_over(client, socket_path)
        else:
            threading.Thread(target=relay, args=(client, socket_path), daemon=True).start()


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bastion.sandbox.forwarder")
    parser.add_argument("--socket", required=True, help="egress proxy Unix socket")
    parser.add_argument("--listen", default="127.0.0.1:3128", help="host:port on loopback")
    parser.add_argument(
        "--pass-connections",
        action="store_true",
        help="pass each connection to the proxy (SCM_RIGHTS) instead of relaying its bytes",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command to run")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("a command to run is required after --")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Listen, run the command, and return its exit code (128+N if killed by signal N)."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    host, _, port = args.listen.rpartition(":")
    listener = socket.create_server((host, int(port)), backlog=64)
    threading.Thread(
        target=serve,
        args=(listener, args.socket),
        kwargs={"pass_sockets": args.pass_connections},
        daemon=True,
    ).start()
    try:
        child = subprocess.Popen(args.command)
    except OSError as exc:
        print(f"bastion forwarder: cannot run {args.command[0]}: {exc}", file=sys.stderr)
        return 127

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    forwarded = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {signum: signal.signal(signum, forward) for signum in forwarded}
    try:
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        listener.close()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
