"""Timeouts, cancel, process limits and output volume, with real bubblewrap."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, Limits, SandboxResult, SandboxSpec

pytestmark = pytest.mark.integration

RunSh = Callable[..., tuple[SandboxResult, str]]
FindProcesses = Callable[[str], list[int]]

# A child and a setsid'd grandchild, both ignoring SIGTERM; ``.MARKER`` tags their sleeps.
_STUBBORN = (
    "trap '' TERM; "
    "setsid sh -c \"trap '' TERM; exec sleep 31.{marker}\" & "
    "sh -c \"trap '' TERM; exec sleep 32.{marker}\" & "
    "echo started; sleep 33.{marker}"
)


def _marker() -> str:
    return str(uuid.uuid4().int % 10**9)


def test_timeout_kills_whole_tree(run_sh: RunSh, find_processes: FindProcesses) -> None:
    marker = _marker()
    started = time.monotonic()
    result, output = run_sh(_STUBBORN.format(marker=marker), limits=Limits(timeout_seconds=1.0))
    assert time.monotonic() - started < 4
    assert result.timed_out
    assert not result.succeeded
    assert result.signal == 9
    assert result.exit_code == 137
    assert "started" in output
    assert find_processes(f".{marker}") == []


def test_cancel_kills_whole_tree(run_sh: RunSh, find_processes: FindProcesses) -> None:
    marker = _marker()
    deadline = time.monotonic() + 0.5
    result, _output = run_sh(
        _STUBBORN.format(marker=marker),
        cancel=lambda: time.monotonic() > deadline,
        limits=Limits(timeout_seconds=30),
    )
    assert result.cancelled
    assert not result.timed_out
    assert result.duration_seconds < 3
    assert find_processes(f".{marker}") == []


def test_background_processes_die_with_the_step(
    run_sh: RunSh, find_processes: FindProcesses
) -> None:
    marker = _marker()
    result, _output = run_sh(f"setsid sleep 34.{marker} & echo done")
    assert result.exit_code == 0
    assert find_processes(f".{marker}") == []


def test_fork_loop_ends_and_host_stays_healthy(
    run_sh: RunSh, find_processes: FindProcesses
) -> None:
    marker = _marker()
    script = f"n=0; while [ $n -lt 500 ]; do sleep 35.{marker} & n=$((n+1)); echo spawned=$n; done"
    result, output = run_sh(script, limits=Limits(max_processes=20, timeout_seconds=10))
    spawned = [int(line.split("=")[1]) for line in output.split() if "spawned=" in line]
    assert result.exit_code != 0
    assert not result.timed_out
    assert max(spawned) < 20
    assert find_processes(f".{marker}") == []
    assert subprocess.run(["true"], check=False).returncode == 0


def test_fork_bomb_is_contained(run_sh: RunSh, find_processes: FindProcesses) -> None:
    marker = _marker()
    healthy: list[int] = []

    def probe_host() -> None:  # while the bomb runs, the host can still start processes
        time.sleep(0.5)
        healthy.append(subprocess.run(["true"], check=False).returncode)

    prober = threading.Thread(target=probe_host)
    prober.start()
    started = time.monotonic()
    result, _ = run_sh(
        f"exec bash -c 'f() {{ f | f & }}; f; sleep 9.{marker}'",
        limits=Limits(max_processes=30, timeout_seconds=1.5),
    )
    prober.join()
    assert time.monotonic() - started < 6
    assert not result.succeeded
    assert healthy == [0]
    assert find_processes(f".{marker}") == []


def test_process_limits_of_parallel_jobs_are_separate(
    sandbox: BubblewrapSandbox, tmp_path: Path
) -> None:
    """Each job may use its whole budget even while another job uses its own."""
    results: dict[int, tuple[int, bytes]] = {}

    def job(index: int) -> None:
        workspace = tmp_path / f"ws{index}"
        workspace.mkdir()
        script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1 & done; wait; echo ok"
        chunks: list[bytes] = []
        spec = SandboxSpec(
            argv=["sh", "-c", script],
            workspace=workspace,
            limits=Limits(max_processes=16, timeout_seconds=10),
        )
        result = sandbox.run(spec, chunks.append)
        results[index] = (result.exit_code, b"".join(chunks))

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] == (0, b"ok\n")
    assert results[1] == (0, b"ok\n")


def test_lots_of_output_does_not_deadlock(run_sh: RunSh) -> None:
    result, output = run_sh("head -c 5000000 /dev/zero | tr '\\0' 'x'; echo; echo end >&2")
    assert result.exit_code == 0
    assert output.count("x") == 5_000_000
    assert output.endswith("end\n")


def test_file_size_limit(run_sh: RunSh, workspace: Path) -> None:
    _result, output = run_sh(
        "head -c 200000 /dev/zero > /workspace/big; echo rc=$?",
        limits=Limits(max_file_bytes=100_000),
    )
    assert (workspace / "big").stat().st_size <= 100_000
    assert "rc=0" not in output


def test_memory_limit(sandbox: BubblewrapSandbox, workspace: Path) -> None:
    import sys

    from bastion.sandbox import bastion_runtime_binds

    spec = SandboxSpec(
        argv=[sys.executable, "-I", "-c", "b = bytearray(400 * 1024 * 1024); print('ALLOC')"],
        workspace=workspace,
        read_only_binds=bastion_runtime_binds(),
        limits=Limits(memory_bytes=200 * 1024 * 1024),
    )
    chunks: list[bytes] = []
    result = sandbox.run(spec, chunks.append)
    assert result.exit_code != 0
    assert b"MemoryError" in b"".join(chunks)
    assert b"ALLOC" not in b"".join(chunks)


def test_niceness_reaches_the_job_and_the_job_cannot_undo_it(run_sh: RunSh) -> None:
    script = "nice; renice -n 0 -p $$ >/dev/null 2>&1; echo renice=$?; nice"
    result, output = run_sh(script, limits=Limits(nice=10))
    assert result.succeeded
    assert output.split() == ["10", "renice=1", "10"]  # lowering it was refused


def test_default_niceness_is_the_callers(run_sh: RunSh) -> None:
    _result, output = run_sh("nice")
    assert output.strip() == "0"


@pytest.mark.parametrize("nice", [-1, 20])
def test_niceness_out_of_range_is_refused(nice: int) -> None:
    with pytest.raises(SandboxError, match="niceness"):
        Limits(nice=nice)
