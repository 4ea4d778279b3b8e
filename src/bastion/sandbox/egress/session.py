"""Relaying one request once its destination is open: tunnels and plain HTTP exchanges."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from datetime import datetime

from bastion.sandbox.egress.http1 import (
    NO_BODY,
    UNTIL_EOF,
    BadMessage,
    Head,
    body_framing,
    encode_head,
    parse_head,
)
from bastion.sandbox.egress.upstream import Denied, Upstream
from bastion.sandbox.egress.wire import Wire

__all__ = ["Exchange", "forward_plain", "refuse", "tunnel"]

_STATUS_TEXT = {
    400: "Bad Request",
    403: "Forbidden",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
# Headers meant for the proxy, or for one hop: never passed to the destination.
_HOP_HEADERS = ("proxy-connection", "proxy-authorization", "keep-alive", "host")


@dataclass(slots=True)
class Exchange:
    """What is known so far about one request, for its record."""

    method: str
    started: datetime
    clock: float
    host: str = ""
    port: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    address: str | None = None
    note: str = ""


def refuse(client: Wire, denied: Denied) -> None:
    """Answer with the refusal's status and reason; the caller then closes."""
    body = f"bastion egress proxy: {denied.reason}\n".encode("utf-8", errors="replace")
    head = (
        f"HTTP/1.1 {denied.status} {_STATUS_TEXT.get(denied.status, 'Error')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        f"X-Bastion-Egress: {'denied' if denied.status == 403 else 'error'}\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        client.send(head.encode("latin-1") + body)


class _Background:
    """Runs one relay in a thread and keeps its count or its error."""

    def __init__(self, source: Wire, dest: Wire, framing: int | None, half_close: bool) -> None:
        self.copied = 0
        self.error: BaseException | None = None
        self._args = (source, dest, framing, half_close)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        source, dest, framing, half_close = self._args
        try:
            if framing is None:
                self.copied = source.relay(dest, None)
            else:
                self.copied = source.relay_body(dest, framing)
        except (OSError, BadMessage) as exc:
            self.error = exc
        finally:
            if half_close:
                dest.half_close()

    def join(self) -> int:
        """Wait; re-raise a protocol error (a closed socket only ends the relay)."""
        self._thread.join()
        if isinstance(self.error, BadMessage):
            raise self.error
        return self.copied


def _both_ways(client: Wire, conn: Upstream, exchange: Exchange) -> None:
    up = _Background(client, conn.wire, None, half_close=True)
    try:
        exchange.bytes_down += conn.wire.relay(client, None)
    except OSError:
        pass
    finally:
        client.half_close()
        exchange.bytes_up += up.join()


def tunnel(client: Wire, conn: Upstream, exchange: Exchange) -> None:
    """Answer a CONNECT with 200, then relay both ways until both sides are done."""
    client.send(b"HTTP/1.1 200 Connection Established\r\n\r\n")
    _both_ways(client, conn, exchange)


def forward_plain(head: Head, path: str, client: Wire, conn: Upstream, exchange: Exchange) -> bool:
    """Forward one plain HTTP request and its response; True if both sides keep alive."""
    method, _, version = head.first
    framing = body_framing(head, is_request=True)
    host = f"[{conn.host}]" if ":" in conn.host else conn.host
    authority = host if conn.port == 80 else f"{host}:{conn.port}"
    out = encode_head(
        f"{method} {path} {version}", [("Host", authority), *head.without(*_HOP_HEADERS)]
    )
    conn.wire.send(out)
    exchange.bytes_up += len(out)
    # The body goes up while the response comes down: a client waiting for
    # "100 Continue" before sending its body must not deadlock the proxy.
    upload = (
        _Background(client, conn.wire, framing, half_close=False) if framing != NO_BODY else None
    )
    try:
        keep = _response(method, client, conn, exchange)
    finally:
        if upload is not None:
            exchange.bytes_up += upload.join()
    client_close = "close" in head.connection_tokens() or version == "HTTP/1.0"
    return keep and not client_close


def _response(method: str, client: Wire, conn: Upstream, exchange: Exchange) -> bool:
    while True:
        raw = conn.wire.read_head()
        if raw is None:
            raise BadMessage("the destination closed without a response")
        head = parse_head(raw)
        client.send(raw)
        exchange.bytes_down += len(raw)
        status = head.first[1]
        if status == "101":  # protocol switch (WebSocket): a tunnel from here on
            _both_ways(client, conn, exchange)
            return False
        if not status.startswith("1"):
            break
    framing = body_framing(head, is_request=False, request_method=method)
    exchange.bytes_down += conn.wire.relay_body(client, framing)
    return framing != UNTIL_EOF and "close" not in head.connection_tokens()
