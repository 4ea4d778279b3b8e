"""Running a scanner: exit codes pass through, timeouts and start failures fail closed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bastion.errors import GateError
from bastion.scanners.tools import run_tool
from bastion.scanners.tools.process import tail


def test_exit_code_and_output_pass_through(tmp_path: Path) -> None:
    run = run_tool(
        ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"], cwd=tmp_path, timeout=10, label="t"
    )
    assert (run.exit_code, run.stdout, run.stderr) == (7, "out\n", "err\n")


def test_timeout_kills_the_whole_tree_and_fails_closed(tmp_path: Path) -> None:
    marker = tmp_path / "survived"
    script = f"(sleep 2; touch {marker}) & sleep 30"
    started = time.monotonic()
    with pytest.raises(GateError, match=r"timed out after 0\.5 s"):
        run_tool(["/bin/sh", "-c", script], cwd=tmp_path, timeout=0.5, label="Slowtool")
    assert time.monotonic() - started < 10
    time.sleep(2.5)
    assert not marker.exists()  # the background child died with its session


def test_a_tool_that_cannot_start_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="could not be started"):
        run_tool([str(tmp_path / "missing")], cwd=tmp_path, timeout=5, label="Ghost")


def test_environment_is_minimal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_TEST_SECRET", "do-not-leak")
    run = run_tool(
        ["/bin/sh", "-c", "env"],
        cwd=tmp_path,
        timeout=10,
        label="env",
        env={"EXTRA": "1"},
        home=tmp_path / "home",
    )
    seen = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    assert "BASTION_TEST_SECRET" not in seen
    assert seen["HOME"] == str(tmp_path / "home")
    assert seen["EXTRA"] == "1"
    assert seen["PATH"] == os.environ["PATH"]


def test_tail_keeps_the_last_non_empty_lines() -> None:
    assert tail("a\n\nb\nc\n\n", lines=2) == "b\nc"
