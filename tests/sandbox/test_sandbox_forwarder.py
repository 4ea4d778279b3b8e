"""The in-sandbox TCP-to-Unix-socket forwarder, exercised on the host over loopback."""

from __future__ import annotations

import signal
import socket
import sys
import threading
from pathlib import Path

import pytest

from bastion.sandbox import forwarder


def _echo_server(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_relay_copies_both_ways_until_eof(tmp_path: Path) -> None:
    path = tmp_path / "up.sock"
    server = _echo_server(path)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        threading.Thread(target=forwarder.serve, args=(listener, str(path)), daemon=True).start()
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
    server = _echo_server(path)
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
