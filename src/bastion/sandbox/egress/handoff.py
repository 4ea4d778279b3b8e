"""Taking over a job's own TCP connection, passed by the in-sandbox forwarder.

The forwarder (:mod:`bastion.sandbox.forwarder`) accepts the job's connection on the sandbox's
loopback. Relaying its bytes to the proxy's Unix socket costs a third copy of every byte
(server to proxy, proxy to forwarder, forwarder to job) and two more threads per connection:
measured on a 2-core machine, the whole path then moved a 100 MB download at 42-70 % of the
direct rate (84-94 % passed) and added about 0.1 ms more per request. So the forwarder
instead sends the accepted socket itself over the Unix socket
(``SCM_RIGHTS``, one :data:`MARKER` byte) and the proxy relays straight between the
destination and the job's connection.

What a job can pass is any descriptor it holds. The proxy only accepts a connected stream
socket (TCP or Unix), closes anything else, and then treats it exactly like a byte-stream
client: its bytes are still parsed and checked, so passing a socket grants nothing that
writing to the Unix socket does not. A client that sends no descriptor (tests, other tools)
is served as a plain byte stream; its first bytes are kept.
"""

from __future__ import annotations

import contextlib
import os
import socket

from bastion.sandbox.egress.http1 import BadMessage

__all__ = ["MARKER", "receive_client"]

MARKER = b"\x00"
"""The one data byte sent with the passed descriptor (never the start of an HTTP request);
the forwarder's ``HANDOFF_MARKER`` (it imports nothing from Bastion)."""

_FIRST_READ = 65536
_STREAM_FAMILIES = (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX)


def _adopt(fd: int) -> socket.socket:
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        os.close(fd)
        raise BadMessage("the forwarder passed a descriptor that is not a socket") from exc
    try:
        if sock.type != socket.SOCK_STREAM or sock.family not in _STREAM_FAMILIES:
            raise BadMessage("the forwarder passed a socket that is not a stream socket")
        sock.getpeername()  # a listening or unconnected socket has no peer
    except (OSError, BadMessage) as exc:
        sock.close()
        if isinstance(exc, BadMessage):
            raise
        raise BadMessage("the forwarder passed a socket that is not connected") from exc
    sock.settimeout(None)
    return sock


def receive_client(sock: socket.socket) -> tuple[socket.socket, bytes]:
    """``(client socket, bytes already read from it)`` for a new proxy connection.

    Either the passed connection (and ``sock`` is closed) or ``sock`` itself with the first
    bytes it sent. Raises :class:`BadMessage` for a descriptor it refuses (``sock`` is left
    open for the refusal) and ``OSError`` when the connection fails.
    """
    data, fds, _flags, _address = socket.recv_fds(sock, _FIRST_READ, 1, socket.MSG_CMSG_CLOEXEC)
    if not fds:
        return sock, data
    for extra in fds[1:]:  # maxfds=1 lets the kernel drop more, but never keep one open
        with contextlib.suppress(OSError):
            os.close(extra)
    if data != MARKER:
        os.close(fds[0])
        raise BadMessage("a passed descriptor must come alone with its marker byte")
    passed = _adopt(fds[0])
    sock.close()
    return passed, b""
