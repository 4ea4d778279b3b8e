"""HTTP/1.1 heads, body framing and the relay, on socket pairs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.sandbox.egress import http1, wire
from bastion.sandbox.egress.http1 import (
    CHUNKED,
    NO_BODY,
    UNTIL_EOF,
    BadMessage,
    body_framing,
    parse_head,
)
from bastion.sandbox.egress.proxy import _target as target
from bastion.sandbox.egress.resolver import SystemResolver
from bastion.sandbox.egress.session import Exchange
from bastion.sandbox.egress.wire import Wire


@pytest.fixture
def pipes() -> Iterator[tuple[socket.socket, Wire, Wire, socket.socket]]:
    """``(writer into source, source wire, dest wire, reader of dest)``."""
    feed, source_sock = socket.socketpair()
    dest_sock, drain = socket.socketpair()
    for sock in (feed, source_sock, dest_sock, drain):
        sock.settimeout(5)
    source_sock.settimeout(None)
    dest_sock.settimeout(None)
    yield feed, Wire(source_sock), Wire(dest_sock), drain
    for sock in (feed, source_sock, dest_sock, drain):
        sock.close()


def _drain(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_heads_and_eof(pipes: tuple[socket.socket, Wire, Wire, socket.socket]) -> None:
    feed, source, _, _ = pipes
    feed.sendall(b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\nrest")
    assert source.read_head() == b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"
    feed.sendall(b"GET")
    feed.shutdown(socket.SHUT_WR)
    with pytest.raises(BadMessage, match="middle of a message head"):
        source.read_head()


def test_clean_eof_and_oversized_head(
    pipes: tuple[socket.socket, Wire, Wire, socket.socket],
) -> None:
    feed, source, _, _ = pipes
    feed.sendall(b"X-Long: " + b"a" * (http1.MAX_HEAD_BYTES + 10))
    with pytest.raises(BadMessage, match="too large"):
        source.read_head()
    other_feed, other = socket.socketpair()
    other_feed.close()
    assert Wire(other).read_head() is None
    other.close()


def test_relay_exact_with_buffered_bytes(
    pipes: tuple[socket.socket, Wire, Wire, socket.socket],
) -> None:
    feed, source, dest, drain = pipes
    feed.sendall(b"HEAD\r\n\r\n0123456789abcdef")
    assert source.read_head() == b"HEAD\r\n\r\n"
    assert source.relay_body(dest, 10) == 10
    assert _drain(drain, 10) == b"0123456789"
    feed.sendall(b"ghij" + b"z" * 100_000)
    feed.shutdown(socket.SHUT_WR)
    assert source.relay_body(dest, UNTIL_EOF) == 6 + 4 + 100_000
    assert _drain(drain, 100_010) == b"abcdefghij" + b"z" * 100_000


def test_short_body_is_an_error(pipes: tuple[socket.socket, Wire, Wire, socket.socket]) -> None:
    feed, source, dest, _ = pipes
    feed.sendall(b"abc")
    feed.shutdown(socket.SHUT_WR)
    with pytest.raises(BadMessage, match="before the end of the body"):
        source.relay_body(dest, 10)
    assert source.relay_body(dest, NO_BODY) == 0


def test_chunked_relay_with_trailers(
    pipes: tuple[socket.socket, Wire, Wire, socket.socket],
) -> None:
    feed, source, dest, drain = pipes
    body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    feed.sendall(body + b"NEXT")
    assert source.relay_body(dest, CHUNKED) == len(body)
    assert _drain(drain, len(body)) == body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"zz\r\n", "malformed chunk size"),
        (b"5\r\nab", "inside a chunked body"),
        (b"5", "inside a chunked body"),
    ],
)
def test_broken_chunked_bodies(
    pipes: tuple[socket.socket, Wire, Wire, socket.socket], body: bytes, message: str
) -> None:
    feed, source, dest, _ = pipes
    feed.sendall(body)
    feed.shutdown(socket.SHUT_WR)
    with pytest.raises(BadMessage, match=message):
        source.relay_body(dest, CHUNKED)


def test_overlong_line(pipes: tuple[socket.socket, Wire, Wire, socket.socket]) -> None:
    feed, source, _, _ = pipes
    feed.sendall(b"f" * (http1.MAX_HEAD_BYTES + 10))
    with pytest.raises(BadMessage, match="line too long"):
        source.readline()


def _bulk(feed: socket.socket, size: int) -> threading.Thread:
    def send() -> None:
        feed.sendall(b"q" * size)
        feed.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _drained_in_background(drain: socket.socket, size: int) -> list[bytes]:
    received: list[bytes] = []
    threading.Thread(target=lambda: received.append(_drain(drain, size)), daemon=True).start()
    return received


class _RecordingSocket(socket.socket):
    """A socket that remembers how many bytes each ``recv_into`` asked for."""

    def __init__(self, fileno: int) -> None:
        super().__init__(fileno=fileno)
        self.asked: list[int] = []

    def recv_into(self, buffer: memoryview, nbytes: int = 0, flags: int = 0) -> int:  # type: ignore[override]
        self.asked.append(nbytes or len(buffer))
        return super().recv_into(buffer, nbytes, flags)


@pytest.fixture
def recorded() -> Iterator[tuple[socket.socket, _RecordingSocket, Wire, socket.socket]]:
    """``(writer, recording source socket, dest wire, reader of dest)``."""
    feed, plain = socket.socketpair()
    source = _RecordingSocket(plain.detach())
    dest_sock, drain = socket.socketpair()
    for sock in (feed, drain):
        sock.settimeout(10)
    yield feed, source, Wire(dest_sock), drain
    for sock in (feed, source, dest_sock, drain):
        sock.close()


MiB = 1024 * 1024


def test_a_bulk_relay_grows_its_buffer_within_the_budget_and_gives_it_back(
    recorded: tuple[socket.socket, _RecordingSocket, Wire, socket.socket],
) -> None:
    feed, source_sock, dest, drain = recorded
    budget = wire.RelayBudget(32 * MiB)
    size = 24 * MiB
    received = _drained_in_background(drain, size)
    _bulk(feed, size)
    assert Wire(source_sock, budget).relay(dest, None) == size
    dest.half_close()
    assert source_sock.asked[0] == 64 * 1024
    assert max(source_sock.asked) >= 256 * 1024  # it grew (as far as the socket fills it)
    assert budget.take(32 * MiB)  # every byte of budget came back
    _wait_for(received)
    assert received == [b"q" * size]


def test_a_spent_budget_keeps_the_first_buffer(
    recorded: tuple[socket.socket, _RecordingSocket, Wire, socket.socket],
) -> None:
    feed, source_sock, dest, drain = recorded
    size = 3 * MiB
    received = _drained_in_background(drain, size)
    _bulk(feed, size)
    source = Wire(source_sock, wire.RelayBudget(100 * 1024))  # less than one growth step
    assert source.relay(dest, size - 10) == size - 10
    assert source.relay(dest, None) == 10
    dest.half_close()
    assert max(source_sock.asked) == 64 * 1024
    _wait_for(received)
    assert received == [b"q" * size]


def test_a_grown_buffer_never_reads_past_the_body(
    recorded: tuple[socket.socket, _RecordingSocket, Wire, socket.socket],
) -> None:
    feed, source_sock, dest, drain = recorded
    body = 10 * MiB + 7
    received = _drained_in_background(drain, body)
    threading.Thread(target=feed.sendall, args=(b"q" * body + b"NEXT",), daemon=True).start()
    source = Wire(source_sock, wire.RelayBudget(32 * MiB))
    assert source.relay(dest, body) == body
    assert max(source_sock.asked) > 64 * 1024  # it did grow
    assert source_sock.recv(4) == b"NEXT"  # the pipelined bytes after the body are unread
    _wait_for(received)
    assert received == [b"q" * body]


class _AlwaysFull:
    """A source that fills every buffer it is given, ``total`` bytes in all."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.asked: list[int] = []

    def recv_into(self, buffer: memoryview, nbytes: int = 0) -> int:
        count = min(nbytes or len(buffer), self.left)
        self.asked.append(nbytes or len(buffer))
        self.left -= count
        return count


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    def sendall(self, data: memoryview) -> None:
        self.count += len(data)


def test_growth_is_fourfold_up_to_four_mebibytes() -> None:
    source, sink, budget = _AlwaysFull(40 * MiB), _Sink(), wire.RelayBudget(32 * MiB)
    assert wire._copy(source, sink, None, budget) == 40 * MiB  # type: ignore[arg-type]
    assert sorted(set(source.asked)) == [64 * 1024, 256 * 1024, MiB, 4 * MiB]
    assert sink.count == 40 * MiB
    assert budget.take(32 * MiB)


def test_wires_share_a_budget_they_take_from() -> None:
    budget = wire.RelayBudget(10)
    assert budget.take(6)
    assert not budget.take(6)
    budget.give_back(6)
    assert budget.take(10)
    assert not wire.NO_GROWTH.take(1)


def _wait_for(received: list[bytes]) -> None:
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)


def _head(text: str) -> http1.Head:
    return parse_head(text.replace("\n", "\r\n").encode() + b"\r\n")


@pytest.mark.parametrize(
    ("head", "request_method", "framing"),
    [
        ("GET / HTTP/1.1\n", None, NO_BODY),
        ("POST / HTTP/1.1\nContent-Length: 5, 5\n", None, 5),
        ("POST / HTTP/1.1\nTransfer-Encoding: gzip, chunked\n", None, CHUNKED),
        ("HTTP/1.1 200 OK\n", "GET", UNTIL_EOF),
        ("HTTP/1.1 200 OK\nContent-Length: 3\n", "HEAD", NO_BODY),
        ("HTTP/1.1 204 No Content\n", "GET", NO_BODY),
        ("HTTP/1.1 304 Not Modified\nContent-Length: 9\n", "GET", NO_BODY),
        ("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n", "GET", UNTIL_EOF),
    ],
)
def test_framing(head: str, request_method: str | None, framing: int) -> None:
    parsed = _head(head)
    if request_method is None:
        assert body_framing(parsed, is_request=True) == framing
    else:
        assert body_framing(parsed, is_request=False, request_method=request_method) == framing


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("POST / HTTP/1.1\nContent-Length: 5\nContent-Length: 6\n", "conflicting"),
        ("POST / HTTP/1.1\nContent-Length: -1\n", "invalid"),
        ("POST / HTTP/1.1\nTransfer-Encoding: gzip\n", "must end in chunked"),
    ],
)
def test_bad_framing(head: str, message: str) -> None:
    with pytest.raises(BadMessage, match=message):
        body_framing(_head(head), is_request=True)


def test_too_many_headers() -> None:
    with pytest.raises(BadMessage, match="too many headers"):
        _head("GET / HTTP/1.1\n" + "X-A: b\n" * 201)


def test_system_resolver_reads_the_hosts_file() -> None:
    addresses = SystemResolver().resolve("localhost", 80)
    assert addresses
    assert all(address.is_loopback for address in addresses)


@given(st.binary(max_size=200))
def test_any_request_head_is_parsed_or_refused_cleanly(raw: bytes) -> None:
    try:
        head = parse_head(raw + b"\r\n\r\n")
        target(head, Exchange(method="?", started=datetime.now(UTC), clock=0.0))
    except BadMessage:
        pass


@given(
    method=st.sampled_from(["GET", "CONNECT", "POST"]),
    url=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
)
def test_any_target_is_parsed_or_refused_cleanly(method: str, url: str) -> None:
    try:
        head = parse_head(f"{method} {url} HTTP/1.1\r\n\r\n".encode())
        host, port, _ = target(head, Exchange(method="?", started=datetime.now(UTC), clock=0.0))
    except BadMessage:
        return
    assert 0 < port < 65536
    assert host
