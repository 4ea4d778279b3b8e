"""Guarantees a hostile job probes: set-id files, a full /tmp, a neighbour's secrets."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.sandbox import BubblewrapSandbox, Limits, SandboxResult, SandboxSpec, Workspace

pytestmark = pytest.mark.integration

RunSh = Callable[..., tuple[SandboxResult, str]]

NEIGHBOUR_SECRET = "neighbour-secret-value-93f1c2"


def test_setuid_file_of_the_tree_grants_nothing(sandbox: BubblewrapSandbox, tmp_path: Path) -> None:
    source = tmp_path / "repo"
    source.mkdir()
    shutil.copy("/usr/bin/id", source / "suid-id")
    os.chmod(source / "suid-id", 0o6755)  # noqa: S103 - the attack under test
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with Workspace.from_working_tree(source, scratch) as workspace:
        copied = (workspace.path / "suid-id").stat().st_mode
        chunks: list[bytes] = []
        spec = SandboxSpec(
            argv=["/bin/sh", "-c", "./suid-id -u; grep NoNewPrivs /proc/self/status"],
            workspace=workspace.path,
        )
        result = sandbox.run(spec, chunks.append)
    assert not copied & (stat.S_ISUID | stat.S_ISGID)
    output = b"".join(chunks).decode().split()
    assert result.exit_code == 0
    assert output[0] != "0"
    assert output[-2:] == ["NoNewPrivs:", "1"]


def test_tmp_is_a_tmpfs_capped_at_the_memory_limit(run_sh: RunSh) -> None:
    result, output = run_sh(
        "head -c 100000000 /dev/zero > /tmp/fill; echo rc=$?; wc -c < /tmp/fill",
        limits=Limits(memory_bytes=32 * 1024 * 1024),
    )
    if result.job_wide_limits:
        # The tmpfs's pages count against the job's cgroup, which stops it first (issue 22).
        assert result.limit_reached == "memory limit (32 MiB) reached", output
        return
    assert result.exit_code == 0
    assert "No space left on device" in output
    assert "rc=1" in output
    assert int(output.split()[-1]) <= 32 * 1024 * 1024


def test_concurrent_job_sees_nothing_of_a_neighbour_with_a_secret(
    sandbox: BubblewrapSandbox, tmp_path: Path
) -> None:
    """Its processes, environment and /run/bastion files stay in its own namespaces."""
    holder_ws, spy_ws = tmp_path / "holder", tmp_path / "spy"
    holder_ws.mkdir()
    spy_ws.mkdir()
    started = threading.Event()

    def holder() -> None:
        spec = SandboxSpec(
            argv=["/bin/sh", "-c", "echo up; sleep 3"],
            workspace=holder_ws,
            env={"TOKEN": NEIGHBOUR_SECRET},
            files={"TOKEN": NEIGHBOUR_SECRET.encode()},
        )
        sandbox.run(spec, lambda _chunk: started.set())

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert started.wait(20)
        spy = (
            "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline /run/bastion/* 2>/dev/null;"
            " ps -eo pid,args; ls /run /tmp 2>&1; true"
        )
        chunks: list[bytes] = []
        result = sandbox.run(
            SandboxSpec(argv=["/bin/sh", "-c", spy], workspace=spy_ws), chunks.append
        )
    finally:
        thread.join()
    output = b"".join(chunks).decode(errors="replace")
    assert result.exit_code == 0
    assert NEIGHBOUR_SECRET not in output
    assert "sleep 3" not in output
    assert "No such file or directory" in output  # no /run at all without files
