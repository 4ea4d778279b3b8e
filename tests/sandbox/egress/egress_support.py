"""Helpers for the egress tests: a proxy client over the Unix socket, raw exchanges."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from pathlib import Path

from bastion.sandbox.egress import EgressProxy, EgressRecord


class UnixProxyConnection(http.client.HTTPConnection):
    """An HTTP client whose proxy is reached on a Unix socket (as the forwarder does)."""

    def __init__(self, socket_path: Path) -> None:
        super().__init__("localhost", timeout=10)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(str(self._socket_path))
        self.sock = sock
        if self._tunnel_host:  # type: ignore[attr-defined]  # http.client internals
            self._tunnel()  # type: ignore[attr-defined]


ProxyFactory = Callable[..., tuple[EgressProxy, Path, list[EgressRecord]]]


def raw_exchange(socket_path: Path, request: bytes) -> bytes:
    """Send raw bytes to the proxy and read until it closes the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(socket_path))
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)
