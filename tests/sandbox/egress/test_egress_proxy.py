"""The egress proxy against loopback servers: allowed, denied, rebinding, IP literals."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox.egress import (
    AllowList,
    EgressProxy,
    EgressRecord,
    IPAddress,
    StaticResolver,
    Verdict,
)

from .egress_support import ProxyFactory, UnixProxyConnection, raw_exchange


def _get(socket_path: Path, url: str) -> tuple[int, bytes]:
    conn = UnixProxyConnection(socket_path)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_allowed_listed_address_is_reachable(start_proxy: ProxyFactory, origin: int) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    status, body = _get(path, f"http://127.0.0.1:{origin}/hello")
    assert (status, body) == (200, b"hello from /hello")
    proxy.stop()  # waits for every record
    [record] = records
    assert record.allowed
    assert (record.job, record.host, record.port, record.method) == (
        "test-job",
        "127.0.0.1",
        origin,
        "GET",
    )
    assert record.address == "127.0.0.1"
    assert record.bytes_up > 0
    assert record.bytes_down > len(body)
    assert record.duration >= 0


def test_allowed_name_resolved_by_the_proxy(start_proxy: ProxyFactory, origin: int) -> None:
    resolver = StaticResolver({"allowed.example": ["127.0.0.1"]})
    proxy, path, records = start_proxy(
        [f"allowed.example:{origin}", f"127.0.0.1:{origin}"], resolver=resolver
    )
    status, body = _get(path, f"http://allowed.example:{origin}/host")
    assert status == 200
    assert body == f"allowed.example:{origin}".encode()  # Host comes from the URL
    proxy.stop()  # waits for every record
    assert records[0].allowed
    assert records[0].host == "allowed.example"


def test_host_not_listed_is_denied_and_logged(start_proxy: ProxyFactory, origin: int) -> None:
    resolver = StaticResolver({"other.example": ["127.0.0.1"]})
    proxy, path, records = start_proxy([f"allowed.example:{origin}"], resolver=resolver)
    status, body = _get(path, f"http://other.example:{origin}/")
    assert status == 403
    assert b"not in the allow-list" in body
    proxy.stop()  # waits for every record
    [record] = records
    assert not record.allowed
    assert record.host == "other.example"
    assert record.address is None


def test_dns_rebinding_to_loopback_is_refused(start_proxy: ProxyFactory, origin: int) -> None:
    resolver = StaticResolver({"allowed.example": ["127.0.0.1"]})
    proxy, path, records = start_proxy([f"allowed.example:{origin}"], resolver=resolver)
    status, body = _get(path, f"http://allowed.example:{origin}/")
    assert status == 403
    assert b"non-public address 127.0.0.1" in body
    conn = UnixProxyConnection(path)
    conn.set_tunnel("allowed.example", origin)
    with pytest.raises(OSError, match="403"):
        conn.connect()
    conn.close()
    proxy.stop()  # waits for every record
    assert not records[0].allowed
    assert not records[1].allowed
    assert records[1].method == "CONNECT"


def test_rebinding_mixed_answer_uses_only_checked_addresses(
    start_proxy: ProxyFactory, origin: int
) -> None:
    # One public and one loopback answer: only the listed/public one may be used, so with
    # the loopback address unlisted, nothing reachable remains and nothing is contacted.
    resolver = StaticResolver({"allowed.example": ["::ffff:127.0.0.1", "10.1.2.3"]})
    proxy, path, records = start_proxy([f"allowed.example:{origin}"], resolver=resolver)
    status, _ = _get(path, f"http://allowed.example:{origin}/")
    assert status == 403
    proxy.stop()  # waits for every record
    assert "non-public address" in records[0].reason


def test_connect_to_an_unlisted_ip_literal_fails(start_proxy: ProxyFactory) -> None:
    # The job picks a public address itself: refused before any connection is tried.
    proxy, path, records = start_proxy(["example.com"])
    reply = raw_exchange(path, b"CONNECT 93.184.215.14:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 403 ")
    assert b"X-Bastion-Egress: denied" in reply
    proxy.stop()  # waits for every record
    assert not records[0].allowed
    assert "IP address 93.184.215.14 on port 443 is not in the allow-list" in records[0].reason


@pytest.mark.parametrize("target", ["10.0.0.8:443", "127.0.0.1:443", "[::1]:443", "169.254.1.1:80"])
def test_connect_to_a_private_address_fails(start_proxy: ProxyFactory, target: str) -> None:
    proxy, path, records = start_proxy(["*.example.com"])
    reply = raw_exchange(path, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 403 ")
    proxy.stop()  # waits for every record
    assert not records[0].allowed


def test_connect_tunnel_to_an_allowed_destination(start_proxy: ProxyFactory, origin: int) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    conn = UnixProxyConnection(path)
    conn.set_tunnel("127.0.0.1", origin)
    conn.request("GET", "/through-tunnel")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"hello from /through-tunnel")
    conn.close()
    proxy.stop()  # waits for every record
    proxy_records = [r for r in records if r.method == "CONNECT"]
    assert len(proxy_records) == 1
    assert proxy_records[0].allowed
    assert proxy_records[0].bytes_down > 0


def test_keep_alive_carries_several_logged_requests(start_proxy: ProxyFactory, origin: int) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    conn = UnixProxyConnection(path)
    for index in range(3):
        conn.request("GET", f"http://127.0.0.1:{origin}/n{index}")
        response = conn.getresponse()
        assert response.read() == f"hello from /n{index}".encode()
    conn.close()
    proxy.stop()  # waits for every record
    assert [r.method for r in records] == ["GET", "GET", "GET"]
    assert all(r.allowed for r in records)


def test_request_bodies_are_relayed(start_proxy: ProxyFactory, origin: int) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    conn = UnixProxyConnection(path)
    conn.request("POST", f"http://127.0.0.1:{origin}/echo", body=b"payload-1")
    assert conn.getresponse().read() == b"echo:payload-1"
    conn.request("POST", f"http://127.0.0.1:{origin}/echo", body=iter([b"ab", b"cd"]))
    assert conn.getresponse().read() == b"echo:abcd"  # chunked upload
    conn.close()
    proxy.stop()  # waits for every record
    assert records[0].bytes_up > len(b"payload-1")


def test_chunked_response_is_relayed(start_proxy: ProxyFactory, origin: int) -> None:
    _, path, _ = start_proxy([f"127.0.0.1:{origin}"])
    assert _get(path, f"http://127.0.0.1:{origin}/chunked") == (
        200,
        b"chunked body from the loopback server",
    )


def test_default_ports_do_not_cover_other_ports(start_proxy: ProxyFactory, origin: int) -> None:
    proxy, path, records = start_proxy(["127.0.0.1"])
    status, _ = _get(path, f"http://127.0.0.1:{origin}/")
    assert status == 403
    proxy.stop()  # waits for every record
    assert f"port {origin}" in records[0].reason


@pytest.mark.parametrize(
    ("request_bytes", "reason"),
    [
        (b"GET /relative HTTP/1.1\r\nHost: a\r\n\r\n", "absolute http:// URL"),
        (b"GET https://a.example/ HTTP/1.1\r\n\r\n", "absolute http:// URL"),
        (b"CONNECT a.example HTTP/1.1\r\n\r\n", "CONNECT needs host:port"),
        (b"CONNECT a.example:99999 HTTP/1.1\r\n\r\n", "invalid port"),
        (b"BROKEN\r\n\r\n", "malformed start line"),
        (b"GET http://a.example/ HTTP/2\r\n\r\n", "unsupported protocol"),
        (b"GET http://a.example/ HTTP/1.1\r\nbad header\r\n\r\n", "malformed header"),
    ],
)
def test_malformed_requests_get_400_and_a_record(
    start_proxy: ProxyFactory, request_bytes: bytes, reason: str
) -> None:
    proxy, path, records = start_proxy(["a.example"])
    reply = raw_exchange(path, request_bytes)
    assert reply.startswith(b"HTTP/1.1 400 ")
    proxy.stop()  # waits for every record
    assert not records[0].allowed
    assert reason in records[0].reason


def test_ambiguous_framing_is_refused(start_proxy: ProxyFactory, origin: int) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    smuggle = (
        f"POST http://127.0.0.1:{origin}/echo HTTP/1.1\r\nContent-Length: 4\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ).encode()
    reply = raw_exchange(path, smuggle)
    assert reply.startswith(b"HTTP/1.1 400 ")
    proxy.stop()  # waits for every record
    assert "Content-Length and Transfer-Encoding" in records[0].reason


def test_unresolvable_and_unreachable_give_502(start_proxy: ProxyFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    resolver = StaticResolver({})
    proxy, path, records = start_proxy(["nowhere.example", f"127.0.0.1:{closed_port}"], resolver)
    assert _get(path, "http://nowhere.example/")[0] == 502
    assert _get(path, f"http://127.0.0.1:{closed_port}/")[0] == 502
    proxy.stop()  # waits for every record
    assert [r.allowed for r in records] == [True, True]
    assert "cannot resolve nowhere.example" in records[0].reason
    assert "cannot connect" in records[1].reason


def test_start_refuses_an_existing_path_and_stop_is_idempotent(tmp_path: Path) -> None:
    taken = tmp_path / "taken.sock"
    taken.write_text("")
    proxy = EgressProxy(AllowList.parse([]), lambda record: None)
    with pytest.raises(SandboxError, match="already exists"):
        proxy.start(taken)
    with EgressProxy(AllowList.parse([]), lambda record: None) as running:
        running.start(tmp_path / "ok.sock")
        assert running.socket_path == tmp_path / "ok.sock"
        with pytest.raises(SandboxError, match="already started"):
            running.start(tmp_path / "again.sock")
    assert not (tmp_path / "ok.sock").exists()
    running.stop()


def test_start_reports_an_unusable_path(tmp_path: Path) -> None:
    proxy = EgressProxy(AllowList.parse([]), lambda record: None)
    with pytest.raises(SandboxError, match="cannot listen"):
        proxy.start(tmp_path / "missing-dir" / "egress.sock")
    proxy.stop()


def test_expect_continue_is_relayed_without_deadlock(
    start_proxy: ProxyFactory, origin: int
) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(
            f"POST http://127.0.0.1:{origin}/echo HTTP/1.1\r\nContent-Length: 4\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode()
        )
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"body")
        reply = b""
        while data := sock.recv(65536):
            reply += data
    assert reply.endswith(b"echo:body")
    proxy.stop()
    assert records[0].allowed


class _FlippingPolicy:
    """Allows a destination once, then refuses it: every request is decided again."""

    def __init__(self, port: int) -> None:
        self._allow = AllowList.parse([f"127.0.0.1:{port}"])
        self.calls = 0

    def check_request(self, host: str, port: int) -> Verdict:
        self.calls += 1
        if self.calls > 1:
            return Verdict(False, "revoked")
        return self._allow.check_request(host, port)

    def check_address(self, ip: IPAddress, port: int) -> Verdict:
        return self._allow.check_address(ip, port)


def test_kept_alive_connections_are_decided_per_request(
    start_proxy: ProxyFactory, origin: int
) -> None:
    proxy, path, records = start_proxy(_FlippingPolicy(origin))
    conn = UnixProxyConnection(path)
    conn.request("GET", f"http://127.0.0.1:{origin}/first")
    assert conn.getresponse().read() == b"hello from /first"
    conn.request("GET", f"http://127.0.0.1:{origin}/second")
    assert conn.getresponse().status == 403
    conn.close()
    proxy.stop()
    assert [r.allowed for r in records] == [True, False]
    assert records[1].reason == "revoked"


@pytest.fixture
def closing_origin() -> Iterator[int]:
    """An origin that answers one request per connection with keep-alive, then closes."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data and (chunk := conn.recv(4096)):
                    data += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    server.close()
    thread.join(5)


def test_a_closed_kept_alive_upstream_is_reopened(
    start_proxy: ProxyFactory, closing_origin: int
) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{closing_origin}"])
    conn = UnixProxyConnection(path)
    for _ in range(2):
        conn.request("GET", f"http://127.0.0.1:{closing_origin}/")
        assert conn.getresponse().read() == b"ok"
        time.sleep(0.1)  # let the origin's close arrive before the next request
    conn.close()
    proxy.stop()
    assert [r.allowed for r in records] == [True, True]


def test_connections_beyond_the_cap_are_turned_away(tmp_path: Path, origin: int) -> None:
    records: list[EgressRecord] = []
    allow = AllowList.parse([f"127.0.0.1:{origin}"])
    with EgressProxy(allow, records.append, max_connections=1) as proxy:
        proxy.start(tmp_path / "capped.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as holder:
            holder.connect(str(tmp_path / "capped.sock"))
            holder.sendall(b"GET http://127.0.0.1")  # an unfinished head keeps it open
            # Accepted in order by one thread: the holder is counted before this one.
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as turned_away:
                turned_away.settimeout(10)
                turned_away.connect(str(tmp_path / "capped.sock"))
                reply = turned_away.recv(65536)
    assert reply.startswith(b"HTTP/1.1 503 Service Unavailable")
    assert records[0].reason == "more than 1 open connections"
    assert not records[0].allowed
