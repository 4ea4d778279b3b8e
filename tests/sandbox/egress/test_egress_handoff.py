"""The forwarder passes the job's connection to the proxy; the proxy accepts only sockets."""

from __future__ import annotations

import http.client
import os
import socket
import threading
from pathlib import Path

import pytest

from bastion.sandbox import forwarder
from bastion.sandbox.egress import AllowList, EgressProxy, EgressRecord
from bastion.sandbox.egress.handoff import MARKER

from .egress_support import ProxyFactory


def test_markers_agree() -> None:
    assert forwarder.HANDOFF_MARKER == MARKER


def _client(listener: socket.socket) -> http.client.HTTPConnection:
    host, port = listener.getsockname()
    return http.client.HTTPConnection(host, port, timeout=10)


def _serve_forwarder(socket_path: Path) -> socket.socket:
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(
        target=forwarder.serve,
        args=(listener, str(socket_path)),
        kwargs={"pass_sockets": True},
        daemon=True,
    ).start()
    return listener


def test_a_passed_connection_is_proxied_and_recorded(
    start_proxy: ProxyFactory, origin: int
) -> None:
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    with _serve_forwarder(path) as listener:
        conn = _client(listener)
        conn.request("GET", f"http://127.0.0.1:{origin}/bytes/300000")
        body = conn.getresponse().read()
        conn.request("POST", f"http://127.0.0.1:{origin}/post", body=b"payload")
        echoed = conn.getresponse().read()
        conn.close()
    proxy.stop()  # waits for the connection's thread, so every record is in
    assert body == b"x" * 300000
    assert echoed == b"echo:payload"
    assert [(r.method, r.allowed) for r in records] == [("GET", True), ("POST", True)]


def test_a_denied_destination_through_a_passed_connection(
    start_proxy: ProxyFactory, origin: int
) -> None:
    proxy, path, records = start_proxy(["example.org"])
    with _serve_forwarder(path) as listener:
        conn = _client(listener)
        conn.request("GET", f"http://127.0.0.1:{origin}/")
        response = conn.getresponse()
        assert response.status == 403
        assert response.getheader("X-Bastion-Egress") == "denied"
        conn.close()
    proxy.stop()
    assert [r.allowed for r in records] == [False]


def _pass(path: Path, fd: int, data: bytes = MARKER) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        socket.send_fds(sock, [data], [fd])
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_descriptor_that_is_not_a_socket_is_refused(start_proxy: ProxyFactory) -> None:
    _proxy, path, records = start_proxy(["example.org"])
    read_end, write_end = os.pipe()
    try:
        answer = _pass(path, read_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"not a socket" in answer
    assert not records[0].allowed


def test_a_listening_socket_is_refused(start_proxy: ProxyFactory) -> None:
    _proxy, path, _records = start_proxy(["example.org"])
    with socket.create_server(("127.0.0.1", 0)) as listening:
        answer = _pass(path, listening.fileno())
    assert b"not connected" in answer


def test_a_datagram_socket_is_refused(start_proxy: ProxyFactory) -> None:
    _proxy, path, _records = start_proxy(["example.org"])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        answer = _pass(path, datagram.fileno())
    assert b"not a stream socket" in answer


def test_a_descriptor_must_come_with_the_marker_alone(start_proxy: ProxyFactory) -> None:
    _proxy, path, _records = start_proxy(["example.org"])
    left, right = socket.socketpair()
    with left, right:
        answer = _pass(path, left.fileno(), b"GET / HTTP/1.1\r\n\r\n")
    assert b"marker byte" in answer


def test_the_forwarder_relays_when_passing_is_refused(
    start_proxy: ProxyFactory, origin: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> int:
        raise PermissionError("passing descriptors is not allowed here")

    monkeypatch.setattr(socket, "send_fds", refuse)
    proxy, path, records = start_proxy([f"127.0.0.1:{origin}"])
    with _serve_forwarder(path) as listener:
        conn = _client(listener)
        conn.request("GET", f"http://127.0.0.1:{origin}/relayed")
        assert conn.getresponse().read() == b"hello from /relayed"
        conn.close()
    proxy.stop()
    assert records[0].allowed


def test_a_passed_connection_beyond_the_cap_hears_503(tmp_path: Path) -> None:
    records: list[EgressRecord] = []
    with EgressProxy(AllowList.parse(["example.org"]), records.append, max_connections=1) as proxy:
        path = tmp_path / "capped.sock"
        proxy.start(path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as holder:
            holder.connect(str(path))
            holder.sendall(b"GET http://example.org")  # an unfinished head keeps it open
            with _serve_forwarder(path) as listener:
                conn = _client(listener)
                conn.request("GET", "http://example.org/")
                response = conn.getresponse()
                assert response.status == 503
                conn.close()
    assert records[0].reason == "more than 1 open connections"
