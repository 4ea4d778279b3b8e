"""A job-written path is read only if it is a regular file, reached without a link (issue 22)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.regular_file import Refusal, Refused, open_regular_file, read_regular_file


def _within(seconds: float, call: Callable[[], bytes | Refused], unblock: Path) -> bytes | Refused:
    """``call()`` in a daemon thread; a hang fails the test (a FIFO writer then frees it)."""
    results: list[bytes | Refused] = []
    worker = threading.Thread(target=lambda: results.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        fd = os.open(unblock, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail(f"reading {unblock.name} blocked")
    return results[0]


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "r.json").write_bytes(b"{}")
    assert read_regular_file(tmp_path, "d/r.json", limit=10) == b"{}"


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "report.json")
    got = _within(
        5, lambda: read_regular_file(tmp_path, "report.json", limit=10), tmp_path / "report.json"
    )
    assert isinstance(got, Refused)
    assert got.refusal is Refusal.SPECIAL
    assert got.text() == "report.json is not a regular file (a FIFO, socket or device)"


def test_a_socket_and_a_device_are_refused(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s"))
        got = read_regular_file(tmp_path, "s", limit=10)
    assert isinstance(got, Refused)
    assert got.refusal is Refusal.SPECIAL
    got = read_regular_file(Path("/dev"), "zero", limit=10)  # endless if it were read
    assert isinstance(got, Refused)
    assert got.refusal is Refusal.SPECIAL


@pytest.mark.parametrize("relative", ["leak", "linked/passwd"])
def test_a_link_anywhere_on_the_path_is_refused(tmp_path: Path, relative: str) -> None:
    os.symlink("/etc/passwd", tmp_path / "leak")
    os.symlink("/etc", tmp_path / "linked")
    got = read_regular_file(tmp_path, relative, limit=1 << 20)
    assert isinstance(got, Refused)
    assert got.refusal is Refusal.LINK
    assert relative in got.text()


@pytest.mark.parametrize("relative", ["/etc/passwd", "../outside", ""])
def test_a_path_leaving_the_directory_is_refused(tmp_path: Path, relative: str) -> None:
    got = read_regular_file(tmp_path / "in", relative, limit=10)
    assert isinstance(got, Refused)
    assert got.refusal is Refusal.OUTSIDE


def test_missing_directory_and_too_large(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "big").write_bytes(b"x" * 11)
    for relative, refusal in (
        ("nothing", Refusal.MISSING),
        ("sub", Refusal.DIRECTORY),
        ("big", Refusal.TOO_LARGE),
    ):
        got = read_regular_file(tmp_path, relative, limit=10)
        assert isinstance(got, Refused), relative
        assert got.refusal is refusal, relative
    assert read_regular_file(tmp_path, "big", limit=11) == b"x" * 11


def test_open_hands_back_a_descriptor_of_a_regular_file_only(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    os.mkfifo(tmp_path / "f")
    fd = open_regular_file(tmp_path, "a")
    assert isinstance(fd, int)
    os.close(fd)
    assert isinstance(open_regular_file(tmp_path, "f"), Refused)
