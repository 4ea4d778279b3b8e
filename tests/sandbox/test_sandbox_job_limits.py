"""Issue 22, point 2: memory and process limits bind the whole job (its cgroup), not each process.

Each attack below passed under rlimits alone (``RLIMIT_DATA`` counts neither shared memory,
memfd nor tmpfs, and every fork gets its own allowance); under the job's cgroup each is
stopped at the limit and the result says so.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, Limits, SandboxResult, SandboxSpec
from bastion.sandbox import cgroup as cgroup_module
from bastion.sandbox.cgroup import REQUIRE_ENV, create_job_cgroup, join_command
from tests.sandbox.conftest import RunSh

LIMITS = Limits(memory_bytes=200 * 1024**2, max_processes=32, timeout_seconds=60)

ATTACKS = {
    "four children of 150 MB each": (
        "import os\n"
        "kids = []\n"
        "for _ in range(4):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        data = bytearray(150 * 1024 * 1024)\n"
        "        for i in range(0, len(data), 4096): data[i] = 1\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "# The parent ignores how its children ended: exit 0 even if one was killed.\n"
        "for pid in kids: os.waitpid(pid, 0)\n"
        "print('survived')\n"
    ),
    "600 MB of shared anonymous memory": (
        "import mmap\n"
        "m = mmap.mmap(-1, 600 * 1024 * 1024, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)\n"
        "for i in range(0, len(m), 4096): m[i] = 1\n"
        "print('survived')\n"
    ),
    "600 MB written to a memfd": (
        "import os\n"
        "fd = os.memfd_create('x')\n"
        "chunk = b'x' * (1 << 20)\n"
        "for _ in range(600): os.write(fd, chunk)\n"
        "print('survived')\n"
    ),
    "150 MB in the tmpfs plus 100 MB of heap": (
        "chunk = b'x' * (1 << 20)\n"
        "with open('/tmp/fill', 'wb') as out:\n"
        "    for _ in range(150): out.write(chunk)\n"
        "data = bytearray(100 * 1024 * 1024)\n"
        "for i in range(0, len(data), 4096): data[i] = 1\n"
        "print('survived')\n"
    ),
}


def _python(run_sh: RunSh, workspace: Path, script: str) -> tuple[SandboxResult, str]:
    (workspace / "job.py").write_text(script)
    return run_sh("exec python3 /workspace/job.py", limits=LIMITS)


@pytest.mark.integration
@pytest.mark.parametrize("script", ATTACKS.values(), ids=list(ATTACKS))
def test_memory_attacks_are_stopped_at_the_job_limit(
    run_sh: RunSh, workspace: Path, script: str
) -> None:
    result, output = _python(run_sh, workspace, script)
    assert result.job_wide_limits
    assert result.limit_reached == "memory limit (200 MiB) reached", output
    assert not result.succeeded  # even where the parent itself exited 0


@pytest.mark.integration
def test_an_ordinary_build_under_the_limit_passes(run_sh: RunSh, workspace: Path) -> None:
    script = (
        "import os, subprocess\n"
        "data = bytearray(50 * 1024 * 1024)\n"
        "for i in range(0, len(data), 4096): data[i] = 1\n"
        "with open('/tmp/obj', 'wb') as out: out.write(bytes(30 * 1024 * 1024))\n"
        "for _ in range(8): subprocess.run(['true'], check=True)\n"
        "print('built')\n"
    )
    result, output = _python(run_sh, workspace, script)
    assert result.succeeded, output
    assert result.job_wide_limits
    assert result.limit_reached is None
    assert "built" in output


@pytest.mark.integration
def test_process_limit_binds_the_job(run_sh: RunSh) -> None:
    # 40 sleepers against a limit of 32: the fork that crosses it fails.
    result, output = run_sh(
        "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo all-forked",
        limits=LIMITS,
    )
    assert "all-forked" not in output
    assert not result.succeeded


@pytest.mark.integration
def test_the_job_cgroup_is_removed_and_kills_what_is_inside() -> None:
    cgroup, why = create_job_cgroup(LIMITS)
    assert cgroup is not None, why
    # The joiner puts the process in before the command runs.
    sleeper = subprocess.Popen([*join_command(cgroup), "sleep", "60"])
    try:
        for _ in range(200):
            if sleeper.pid in cgroup.pids_inside():
                break
            time.sleep(0.01)  # the shell has not written its pid yet
        assert sleeper.pid in cgroup.pids_inside()
        cgroup.remove()
        assert sleeper.wait(5) == -9
        assert not any(d.exists() for d in cgroup.directories)
    finally:
        sleeper.kill()
        sleeper.wait()
        if any(d.exists() for d in cgroup.directories):  # a failed assertion above
            cgroup.remove()


def test_no_cgroup_means_per_process_limits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cgroup_module, "_CGROUP_ROOT", tmp_path / "no-cgroups")
    cgroup, why = create_job_cgroup(LIMITS, proc_cgroup="4:memory:/\n8:pids:/\n0::/\n")
    assert cgroup is None
    assert "cannot make a cgroup" in why


@pytest.mark.integration
def test_required_job_limits_fail_closed_without_a_cgroup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workspace: Path
) -> None:
    monkeypatch.setattr(cgroup_module, "_CGROUP_ROOT", tmp_path / "no-cgroups")
    sandbox = BubblewrapSandbox()
    spec = SandboxSpec(argv=["true"], workspace=workspace, limits=LIMITS)
    result = sandbox.run(spec, lambda _chunk: None)
    assert result.succeeded
    assert not result.job_wide_limits  # said, not hidden
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(SandboxError, match="job-wide memory and process limits are required"):
        sandbox.run(spec, lambda _chunk: None)


@pytest.mark.integration
def test_a_job_runs_only_once_bwrap_and_its_init_are_in_the_cgroup(
    monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    """The init waits on ``--block-fd`` until both pids are admitted; the job sees them there."""
    admitted: list[tuple[int, ...]] = []
    real_admit = cgroup_module.JobCgroup.admit

    def spy(self: cgroup_module.JobCgroup, pids: tuple[int, ...]) -> None:
        real_admit(self, pids)
        admitted.append(pids)
        # Inside before the release: the init (and bwrap) already count in the cgroup.
        assert set(pids) <= self.pids_inside()

    monkeypatch.setattr(cgroup_module.JobCgroup, "admit", spy)
    spec = SandboxSpec(argv=["true"], workspace=workspace, limits=LIMITS)
    assert BubblewrapSandbox().run(spec, lambda _: None).exit_code == 0
    assert len(admitted) == 1
    assert len(admitted[0]) == 2


@pytest.mark.integration
def test_a_job_that_cannot_join_its_cgroup_never_runs(
    monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    def refuse(self: cgroup_module.JobCgroup, pids: tuple[int, ...]) -> None:
        raise PermissionError("cgroup.procs refused")

    monkeypatch.setattr(cgroup_module.JobCgroup, "admit", refuse)
    spec = SandboxSpec(
        argv=["sh", "-c", "touch /workspace/ran"], workspace=workspace, limits=LIMITS
    )
    with pytest.raises(SandboxError, match="cannot put the job in its cgroup"):
        BubblewrapSandbox().run(spec, lambda _: None)
    assert not (workspace / "ran").exists()
