"""The explicit --unsafe-no-sandbox runner: loud, limited where it can be."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import Limits, SandboxSpec, UnsafeHostRunner

FindProcesses = Callable[[str], list[int]]


def _run(spec: SandboxSpec, cancel: object = None) -> tuple[int, bool, bool, str]:
    chunks: list[bytes] = []
    result = UnsafeHostRunner().run(spec, chunks.append, cancel)  # type: ignore[arg-type]
    return result.exit_code, result.timed_out, result.cancelled, b"".join(chunks).decode()


def test_runs_on_host_and_warns_every_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASTION_TEST_LEAK", "leaked")
    (tmp_path / "sub").mkdir()
    spec = SandboxSpec(
        argv=["sh", "-c", "pwd; env; exit 4"],
        workspace=tmp_path,
        working_directory="sub",
        env={"DECLARED": "1"},
    )
    with caplog.at_level("WARNING", logger="bastion.sandbox"):
        code, _, _, output = _run(spec)
        _run(spec)
    assert code == 4
    assert output.splitlines()[0] == str(tmp_path / "sub")
    assert "DECLARED=1" in output
    assert "BASTION_TEST_LEAK" not in output
    warnings = [r for r in caplog.records if "WITHOUT A SANDBOX" in r.getMessage()]
    assert len(warnings) == 2


def test_timeout_kills_the_process_group(tmp_path: Path, find_processes: FindProcesses) -> None:
    marker = str(uuid.uuid4().int % 10**9)
    spec = SandboxSpec(
        argv=["sh", "-c", f"trap '' TERM; sleep 36.{marker} & sleep 37.{marker}"],
        workspace=tmp_path,
        limits=Limits(timeout_seconds=0.5),
    )
    started = time.monotonic()
    code, timed_out, _, _ = _run(spec)
    assert timed_out
    assert code == 137
    assert time.monotonic() - started < 3
    assert find_processes(f".{marker}") == []


def test_cancel(tmp_path: Path) -> None:
    deadline = time.monotonic() + 0.3
    spec = SandboxSpec(argv=["sleep", "30"], workspace=tmp_path)
    _, timed_out, cancelled, _ = _run(spec, lambda: time.monotonic() > deadline)
    assert cancelled
    assert not timed_out


def test_refuses_what_it_cannot_honour(tmp_path: Path) -> None:
    runner = UnsafeHostRunner()
    for spec in (
        SandboxSpec(argv=["true"], workspace=tmp_path, files={"token": b"x"}),
        SandboxSpec(argv=["true"], workspace=tmp_path, rootfs=tmp_path),
        SandboxSpec(argv=[], workspace=tmp_path),
        SandboxSpec(argv=["true"], workspace=tmp_path, working_directory="../x"),
    ):
        with pytest.raises(SandboxError):
            runner.run(spec, lambda _: None)


def test_missing_program_fails_like_a_shell(tmp_path: Path) -> None:
    code, *_ = _run(SandboxSpec(argv=["/nonexistent/prog"], workspace=tmp_path))
    assert code == 127


def test_escaped_writer_does_not_hold_the_step_open(
    tmp_path: Path, find_processes: FindProcesses
) -> None:
    """A setsid'd child keeping the output pipe escapes the unsafe runner's group kill."""
    marker = str(uuid.uuid4().int % 10**9)
    spec = SandboxSpec(
        argv=["sh", "-c", f"setsid sleep 3.{marker} & echo main done"], workspace=tmp_path
    )
    started = time.monotonic()
    code, timed_out, _, output = _run(spec)
    assert code == 0
    assert not timed_out
    assert "main done" in output
    assert time.monotonic() - started < 2.5  # bounded drain, not the child's 3 s
    for pid in find_processes(f".{marker}"):  # what the bubblewrap sandbox would have killed
        os.kill(pid, signal.SIGKILL)


def test_niceness_applies_on_the_host_too(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["nice"], workspace=tmp_path, limits=Limits(nice=5))
    code, _, _, output = _run(spec)
    assert (code, output.strip()) == (0, str(os.nice(0) + 5))
