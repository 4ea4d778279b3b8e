"""The in-sandbox TCP-to-Unix-socket forwarder, exercised on the host over loopback."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import pytest

from bastion.sandbox import forwarder


def _echo_server(path: Path, *, adopt: bool = False) -> socket.socket:
    """Upper-cases what it reads; with ``adopt``, from the connection the forwarder passes."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if adopt:
                marker, fds, _flags, _addr = socket.recv_fds(conn, 1, 1)
                assert marker == forwarder.HANDOFF_MARKER
                assert len(fds) == 1
                conn.close()
                conn = socket.socket(fileno=fds[0])
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_relay_copies_both_ways_until_eof(tmp_path: Path) -> None:
    path = tmp_path / "up.sock"
    server = _echo_server(path)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        threading.Thread(
            target=forwarder.serve,
            args=(listener, str(path)),
            kwargs={"pass_sockets": False},
            daemon=True,
        ).start()
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            client.sendall(b"hello ")
            client.sendall(b"proxy")
            client.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := client.recv(4096):
                received += chunk
    server.close()
    assert received == b"HELLO PROXY"


def test_unreachable_socket_closes_the_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left, right = socket.socketpair()
    forwarder.relay(right, str(tmp_path / "missing.sock"))
    assert left.recv(10) == b""
    left.close()
    assert "egress proxy unreachable" in capsys.readouterr().err


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def test_main_runs_the_command_and_returns_its_code(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    listen = f"127.0.0.1:{_free_port()}"
    code = forwarder.main(
        ["--socket", str(tmp_path / "s"), "--listen", listen, "--", "sh", "-c", "exit 5"]
    )
    assert code == 5
    assert signal.getsignal(signal.SIGTERM) == before


def test_main_reports_a_signal_death_as_128_plus_n(tmp_path: Path) -> None:
    listen = f"127.0.0.1:{_free_port()}"
    argv = ["--socket", str(tmp_path / "s"), "--listen", listen, "--", "sh", "-c", "kill -9 $$"]
    assert forwarder.main(argv) == 137


def test_main_listens_before_the_command_starts(tmp_path: Path) -> None:
    path = tmp_path / "up.sock"
    server = _echo_server(path, adopt=True)
    port = _free_port()
    client = (
        "import socket\n"
        f"s = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
        "s.sendall(b'abc'); s.shutdown(socket.SHUT_WR)\n"
        "assert s.recv(10) == b'ABC'\n"
    )
    argv = [
        "--socket",
        str(path),
        "--listen",
        f"127.0.0.1:{port}",
        "--pass-connections",
        "--",
        sys.executable,
        "-c",
        client,
    ]
    assert forwarder.main(argv) == 0
    server.close()


def test_main_without_command_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        forwarder.main(["--socket", str(tmp_path / "s"), "--"])
    assert exited.value.code == 2


def test_main_with_missing_program_exits_127(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listen = f"127.0.0.1:{_free_port()}"
    argv = ["--socket", str(tmp_path / "s"), "--listen", listen, "--", "/nonexistent/prog"]
    assert forwarder.main(argv) == 127
    assert "cannot run /nonexistent/prog" in capsys.readouterr().err


def _sink_server(path: Path, received: list[bytes], reply: bytes) -> socket.socket:
    """A Unix-socket peer that reads everything, then answers ``reply`` and closes."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = bytearray()
            while chunk := conn.recv(1 << 20):
                data += chunk
            received.append(bytes(data))
            conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return server


def _exchange(listener: socket.socket, payload: bytes) -> bytes:
    with socket.create_connection(listener.getsockname(), timeout=10) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        answer = bytearray()
        while chunk := client.recv(1 << 20):
            answer += chunk
    return bytes(answer)


def test_large_transfers_arrive_intact_both_ways(tmp_path: Path) -> None:
    # Bigger than the pipe, with a pattern that shows any reordering or loss.
    payload = bytes(range(256)) * (12 * 1024)
    reply = payload[::-1] * 2
    received: list[bytes] = []
    server = _sink_server(tmp_path / "up.sock", received, reply)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        threading.Thread(
            target=forwarder.serve,
            args=(listener, str(tmp_path / "up.sock")),
            kwargs={"pass_sockets": False},
            daemon=True,
        ).start()
        assert _exchange(listener, payload) == reply
    server.close()
    assert received == [payload]


def test_relay_carries_bulk_both_ways(tmp_path: Path) -> None:
    received: list[bytes] = []
    server = _sink_server(tmp_path / "up.sock", received, b"pong" * 1_000_000)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        threading.Thread(
            target=forwarder.serve,
            args=(listener, str(tmp_path / "up.sock")),
            kwargs={"pass_sockets": False},
            daemon=True,
        ).start()
        assert _exchange(listener, b"ping" * 1_000_000) == b"pong" * 1_000_000
    server.close()
    assert received == [b"ping" * 1_000_000]


class _FailsAfterFirstRead(socket.socket):
    """A socket whose source side breaks after its first read."""

    reads = 0

    def recv_into(self, buffer: memoryview, nbytes: int = 0, flags: int = 0) -> int:  # type: ignore[override]
        self.reads += 1
        if self.reads > 1:
            raise OSError(errno.ECONNRESET, "gone")
        return super().recv_into(buffer, nbytes, flags)


def test_a_read_error_after_data_moved_ends_the_relay_with_a_half_close() -> None:
    source_peer, plain_source = socket.socketpair()
    source = _FailsAfterFirstRead(fileno=os.dup(plain_source.fileno()))
    plain_source.close()
    sink, sink_peer = socket.socketpair()
    source_peer.sendall(b"first")
    forwarder._pump(source, sink)
    assert sink_peer.recv(100) == b"first"
    assert sink_peer.recv(100) == b""  # half-closed: the peer sees EOF, not a hang
    for sock in (source_peer, source, sink, sink_peer):
        sock.close()
