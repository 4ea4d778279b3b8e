"""What one sandboxed process is asked to do, and what came of it.

The engine and executors speak only these types; ``bubblewrap.py`` is the implementation.
Every field is plain data so a spec can cross a process or machine boundary (Celery).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bastion.errors import SandboxError
from bastion.sandbox.syscalls import SyscallGroup

__all__ = [
    "MAX_NICE",
    "Limits",
    "NetworkMode",
    "NetworkPolicy",
    "OutputSink",
    "Sandbox",
    "SandboxResult",
    "SandboxSpec",
]


MAX_NICE = 19


class NetworkMode(enum.StrEnum):
    """``none``: no interface but a private loopback. ``proxy``: only an egress proxy's
    Unix socket is reachable. ``host``: the host's network, spelled out by the user."""

    NONE = "none"
    PROXY = "proxy"
    HOST = "host"


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """How the sandbox reaches the network; ``proxy_socket`` is set for PROXY."""

    mode: NetworkMode = NetworkMode.NONE
    proxy_socket: Path | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits for the whole process tree of one step."""

    timeout_seconds: float = 3600.0
    # RLIMIT_DATA counts reserved heap too: Semgrep's engine reserves ~3 GiB to use 100 MB.
    memory_bytes: int | None = 4 * 1024**3
    max_processes: int | None = 256
    max_open_files: int = 4096
    max_file_bytes: int | None = 4 * 1024**3
    # Niceness (0-19) of the whole tree: a step that may wait yields the CPU to one that
    # decides how long everything takes (see ``bastion.engine.gate_priority``). The job
    # cannot undo it: lowering niceness needs a privilege the sandbox drops.
    nice: int = 0
    # System call groups given back on top of the default seccomp filter
    # (``bastion.sandbox.syscalls``); the engine allows them only in trusted runs.
    syscalls: frozenset[SyscallGroup] = frozenset()

    def __post_init__(self) -> None:
        if not 0 <= self.nice <= MAX_NICE:
            raise SandboxError(f"niceness {self.nice} is outside 0..{MAX_NICE}")


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """One command to run isolated.

    ``workspace`` is a host directory mounted read-write at ``/workspace``; everything
    else is read-only system directories, ``read_only_binds`` (host path -> same path
    inside), or ``rootfs`` instead of the host's system directories. ``files`` are written
    into a tmpfs at ``/run/bastion`` (secrets, tokens) that vanishes with the sandbox.

    ``read_only_source`` is a host tree shown read-only at ``/workspace/source`` without
    copying it (what a gate scans); ``hidden_source_paths`` (relative to it) are covered
    there: a directory by an empty read-only tmpfs, anything else by ``/dev/null``. A sandbox
    that can do this says so with a true ``shows_read_only_source`` attribute.

    ``sealed_paths`` are workspace files the job may read but not own (artifacts it received):
    where the job runs under a uid of its own, they keep Bastion's owner, so the job cannot
    write or chmod them.
    """

    argv: Sequence[str]
    workspace: Path
    env: Mapping[str, str] = field(default_factory=dict)
    working_directory: str = "."
    limits: Limits = field(default_factory=Limits)
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    read_only_binds: Sequence[Path] = ()
    rootfs: Path | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    read_only_source: Path | None = None
    hidden_source_paths: Sequence[str] = ()
    sealed_paths: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """How the process tree ended."""

    exit_code: int
    duration_seconds: float
    timed_out: bool = False
    cancelled: bool = False
    signal: int | None = None
    # Set when the kernel stopped the job at a job-wide limit ("memory limit (N MiB)
    # reached"): the job failed, whatever its exit code (a killed child's parent may exit 0).
    limit_reached: str | None = None
    # Whether memory and process limits bound the whole job (a cgroup) or each process.
    job_wide_limits: bool = False

    @property
    def succeeded(self) -> bool:
        return (
            self.exit_code == 0
            and not self.timed_out
            and not self.cancelled
            and self.limit_reached is None
        )


OutputSink = Callable[[bytes], None]


class Sandbox(Protocol):
    """Runs one spec to completion; raises ``SandboxError`` if it cannot isolate it."""

    def run(
        self,
        spec: SandboxSpec,
        on_output: OutputSink,
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        """Run ``spec``, streaming combined stdout/stderr bytes to ``on_output``.

        ``cancel`` is polled; when it returns True the whole tree is killed and the result
        has ``cancelled=True``.
        """
        ...
