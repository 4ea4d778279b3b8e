"""Job-wide limits: one cgroup per sandboxed step, with memory and pids controllers.

rlimits bind each process (``RLIMIT_DATA`` misses shared memory, memfd and tmpfs, and is
multiplied by every fork); a cgroup counts the whole job. :func:`create_job_cgroup` makes a
child of Bastion's own cgroup (the path ``/proc/self/cgroup`` names; never another's) on the
cgroup v2 hierarchy when it delegates ``memory`` and ``pids`` there, else on the v1
``memory`` and ``pids`` hierarchies, and sets ``memory`` (swap included, so swapping does not
bypass it) and ``pids`` limits.

How processes get in, with no window: bwrap starts with ``--block-fd``, so its sandbox init
waits, set up but before the seccomp filter and the inner command, until Bastion has written
bwrap's pid and the init's (:meth:`JobCgroup.admit`) into each ``cgroup.procs``; every process
of the job descends from that init, so none ever runs outside. If a write fails the tree is
killed before it is released (a set-up error). This costs no extra process, where the
:func:`join_command` shell (still there for callers without bwrap) cost an exec per step.

Where no cgroup can be made (an unprivileged user without delegation) :func:`create_job_cgroup`
returns None with the reason; the limits are then per process, and ``BASTION_REQUIRE_JOB_LIMITS=1``
turns that into a :class:`~bastion.errors.SandboxError`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import SandboxError
from bastion.sandbox.interface import Limits

__all__ = ["REQUIRE_ENV", "JobCgroup", "create_job_cgroup", "job_limits_required", "join_command"]

REQUIRE_ENV = "BASTION_REQUIRE_JOB_LIMITS"
_CGROUP_ROOT = Path("/sys/fs/cgroup")
# bwrap outside, bwrap's init inside, and the sh that joins (it becomes prlimit, then bwrap):
# pids.max counts these beside the job's own processes, as RLIMIT_NPROC does not.
_SANDBOX_PROCESSES = 2
_KILL_ROUNDS = 200
_KILL_PAUSE = 0.01
# The joiner: $1.. are cgroup.procs files up to "--", then the command to exec.
_JOIN_SCRIPT = (
    'while [ "$1" != -- ]; do echo $$ > "$1" || '
    '{ echo "bastion-cgroup: cannot join $1" >&2; exit 125; }; shift; done; shift; exec "$@"'
)


def job_limits_required() -> bool:
    """Whether ``BASTION_REQUIRE_JOB_LIMITS=1``: per-process limits are then an error."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


@dataclass(frozen=True, slots=True)
class JobCgroup:
    """One job's cgroup directories (one on v2; memory and pids on v1)."""

    memory: Path
    pids: Path
    v2: bool
    memory_bytes: int | None

    @property
    def directories(self) -> tuple[Path, ...]:
        return (self.memory,) if self.v2 else (self.memory, self.pids)

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process must join."""
        return [str(d / "cgroup.procs") for d in self.directories]

    def admit(self, pids: tuple[int, ...]) -> None:
        """Move ``pids`` into every directory of the job's cgroup; OSError if one cannot."""
        for path in self.procs_files():
            for pid in pids:
                # One pid per write: the kernel reads one number per write(2).
                with open(path, "w", encoding="ascii") as handle:
                    handle.write(str(pid))

    def pids_inside(self) -> set[int]:
        """Every pid currently in the job's cgroup(s)."""
        found: set[int] = set()
        for directory in self.directories:
            with contextlib.suppress(OSError):
                text = (directory / "cgroup.procs").read_text()
                found.update(int(pid) for pid in text.split())
        return found

    def kill_all(self) -> bool:
        """SIGKILL every process listed, again until none is left; whether it emptied.

        Processes can fork between a read and the kills, so this loops (the pids limit
        bounds how many there can be).
        """
        for _ in range(_KILL_ROUNDS):
            pids = self.pids_inside()
            if not pids:
                return True
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(_KILL_PAUSE)
        return not self.pids_inside()

    def oom_kills(self) -> int:
        """How many processes the kernel killed for reaching the memory limit."""
        name = "memory.events" if self.v2 else "memory.oom_control"
        try:
            text = (self.memory / name).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def memory_limit_reason(self) -> str | None:
        """``memory limit (N MiB) reached`` when the kernel killed for it, else None."""
        if self.memory_bytes is None or self.oom_kills() == 0:
            return None
        return f"memory limit ({self.memory_bytes // 1024**2} MiB) reached"

    def remove(self) -> None:
        """Kill what is left inside, then remove the directories; SandboxError if it cannot."""
        if not self.kill_all():
            raise SandboxError(f"processes of the job's cgroup {self.memory} did not die")
        for directory in self.directories:
            for _ in range(_KILL_ROUNDS):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY: a killed process not yet reaped by the kernel
                    time.sleep(_KILL_PAUSE)
            else:
                raise SandboxError(f"the job's cgroup {directory} could not be removed")


def join_command(cgroup: JobCgroup) -> list[str]:
    """The argv prefix that puts the command after it in ``cgroup`` before it runs."""
    return ["/bin/sh", "-c", _JOIN_SCRIPT, "bastion-cgroup", *cgroup.procs_files(), "--"]


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    """Controller (``""`` for v2) -> this process's cgroup path, from ``/proc/self/cgroup``."""
    paths: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _v2_parent(paths: dict[str, str]) -> Path | None:
    """Our v2 cgroup, when it delegates memory and pids to children."""
    if "" not in paths:
        return None
    for mount in (_CGROUP_ROOT, _CGROUP_ROOT / "unified"):
        parent = mount / paths[""].lstrip("/")
        try:
            delegated = (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            continue
        if {"memory", "pids"} <= set(delegated):
            return parent
    return None


def _make(parent: Path, name: str) -> Path:
    directory = parent / name
    directory.mkdir(mode=0o755)
    return directory


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _set_limits(cgroup: JobCgroup, limits: Limits) -> None:
    memory = "max" if limits.memory_bytes is None else str(limits.memory_bytes)
    if cgroup.v2:
        _write(cgroup.memory / "memory.max", memory)
        if (cgroup.memory / "memory.swap.max").exists():
            _write(cgroup.memory / "memory.swap.max", "0")  # swap must not extend the limit
    else:
        value = "-1" if limits.memory_bytes is None else memory
        _write(cgroup.memory / "memory.limit_in_bytes", value)
        # memsw (memory + swap) must be >= the memory limit, so it is set second.
        if (cgroup.memory / "memory.memsw.limit_in_bytes").exists():
            _write(cgroup.memory / "memory.memsw.limit_in_bytes", value)
    if limits.max_processes is not None:
        _write(cgroup.pids / "pids.max", str(limits.max_processes + _SANDBOX_PROCESSES + 1))


def create_job_cgroup(
    limits: Limits, *, proc_cgroup: str | None = None
) -> tuple[JobCgroup | None, str]:
    """A fresh, limited cgroup for one job, or None and why none could be made."""
    try:
        text = proc_cgroup if proc_cgroup is not None else Path("/proc/self/cgroup").read_text()
        paths = _own_paths(text)
    except (OSError, ValueError) as exc:
        return None, f"cannot read this process's cgroup: {exc}"
    # Not the secrets module: benchmarks/secrets.py shadows it when a benchmark runs as a script.
    name = f"bastion-job-{os.getpid()}-{os.urandom(6).hex()}"
    v2_parent = _v2_parent(paths)
    made: list[Path] = []
    try:
        if v2_parent is not None:
            directory = _make(v2_parent, name)
            made.append(directory)
            cgroup = JobCgroup(directory, directory, True, limits.memory_bytes)
        else:
            if "memory" not in paths or "pids" not in paths:
                return None, "no cgroup hierarchy with the memory and pids controllers"
            memory = _make(_CGROUP_ROOT / "memory" / paths["memory"].lstrip("/"), name)
            made.append(memory)
            pids = _make(_CGROUP_ROOT / "pids" / paths["pids"].lstrip("/"), name)
            made.append(pids)
            cgroup = JobCgroup(memory, pids, False, limits.memory_bytes)
        _set_limits(cgroup, limits)
    except OSError as exc:
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()
        return None, f"cannot make a cgroup for the job ({exc.strerror or exc})"
    return cgroup, ""
