"""Inside a proxy-mode sandbox: relay TCP connections on loopback to the egress proxy socket.

    python -m bastion.sandbox.forwarder --socket /run/bastion/egress.sock \\
        --listen 127.0.0.1:3128 -- make test

The sandbox has no network interface but its own loopback, and the only way out is the egress
proxy's Unix socket bound inside. HTTP clients speak TCP to a proxy, so this listens on
loopback, relays every connection byte for byte to the socket, runs the command as its child
and exits with the child's code. It imports only the standard library so the sandbox can run
it as a plain file (``python -I -S forwarder.py``), without Bastion's packages or site.
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

__all__ = ["main", "relay", "serve"]

_CHUNK = 65536


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until EOF, then half-close ``sink``."""
    try:
        while chunk := source.recv(_CHUNK):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def relay(client: socket.socket, socket_path: str) -> None:
    """Relay one accepted connection to the Unix socket, both ways, then close both."""
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError as exc:
        print(f"bastion forwarder: egress proxy unreachable: {exc}", file=sys.stderr)
        upstream.close()
        client.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(listener: socket.socket, socket_path: str) -> None:
    """Accept connections forever, one relay thread each."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=relay, args=(client, socket_path), daemon=True).start()


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bastion.sandbox.forwarder")
    parser.add_argument("--socket", required=True, help="egress proxy Unix socket")
    parser.add_argument("--listen", default="127.0.0.1:3128", help="host:port on loopback")
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
    threading.Thread(target=serve, args=(listener, args.socket), daemon=True).start()
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
