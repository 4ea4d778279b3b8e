"""Where jobs run. A job is plain, serialisable data; its progress comes back as events.

The engine hands a :class:`JobSpec` to an :class:`Executor` and listens to :class:`JobEvent`s;
it never knows whether the job ran in a local thread or on a Celery worker elsewhere.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bastion.sandbox import NetworkMode, SyscallGroup

__all__ = [
    "CacheSpec",
    "Executor",
    "JobEvent",
    "JobEventKind",
    "JobHandle",
    "JobOutcome",
    "JobSpec",
    "JobState",
    "ReceivedArtifact",
    "StepSpec",
    "WorkspaceSource",
]


class JobState(enum.StrEnum):
    """States of a job; ``skipped`` means a job it needs did not pass.

    Defined here, where a job's outcome is reported, so that :attr:`JobOutcome.status` is
    one (an executor ends a job passed, failed, cancelled or error); the engine, which adds
    the others, re-exports this same enum (``bastion.engine.JobState``).
    """

    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    ERROR = "error"

    @property
    def final(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True, slots=True)
class WorkspaceSource:
    """What the fresh workspace holds: the tree at ``path`` as it is, or ``commit`` of it."""

    path: str
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One command of a job: an argv run in the sandbox."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    working_directory: str = "."
    timeout_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class ReceivedArtifact:
    """An artifact of a job this one needs, put into its workspace before the first step.

    ``path`` is where the producing job left it (workspace-relative), ``source`` the host
    file holding the stored bytes and ``digest`` (``sha256:<hex>``) what they must hash to;
    ``job`` names the producer for messages.
    """

    path: str
    source: str
    digest: str
    job: str


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """One ``cache:`` entry of a job, its key ready but for ``hashFiles``.

    ``key`` is literal text and, as tuples of globs, the ``hashFiles(...)`` calls, which
    the executor works out over the fresh workspace; ``paths`` are workspace-relative.
    """

    key: tuple[str | tuple[str, ...], ...]
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything needed to run one job, and nothing that must stay on the engine's side.

    ``collect`` lists workspace-relative files whose bytes come back in the outcome (a gate's
    report); ``artifacts`` are globs copied out to ``artifact_dir`` before the workspace goes.
    ``network`` is ``none``, ``host`` or ``proxy``; with ``proxy`` the executor is given an
    egress proxy socket for the job. ``inject`` lists (workspace-relative name, host file)
    pairs copied into the fresh workspace before the first step (a secrets gate's git
    history, prepared on the host because the workspace has no ``.git``). ``receive`` lists
    the artifacts of the jobs it needs: each is checked against its digest while it is
    copied in, and is read-only to the job. ``nice`` is every step's niceness
    (``Limits.nice``): a gate job that yields the CPU to a longer one beside it.
    ``cache`` is restored from and saved to ``cache_dir``, the one namespace of the run's
    trust level and repository (chosen by the engine: the executor cannot reach another).
    """

    run_id: int
    job: str
    steps: tuple[StepSpec, ...]
    source: WorkspaceSource
    env: Mapping[str, str] = field(default_factory=dict)
    memory_bytes: int | None = None
    max_processes: int | None = None
    max_open_files: int = 4096
    network: NetworkMode = NetworkMode.NONE
    proxy_socket: str | None = None
    read_only_binds: tuple[str, ...] = ()
    rootfs: str | None = None
    collect: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    artifact_dir: str | None = None
    exclude: tuple[str, ...] = (".git", ".bastion/state")
    inject: tuple[tuple[str, str], ...] = ()
    receive: tuple[ReceivedArtifact, ...] = ()
    nice: int = 0
    # Seccomp groups given back (``Limits.syscalls``); the engine checked the run's trust.
    syscalls: tuple[SyscallGroup, ...] = ()
    cache: tuple[CacheSpec, ...] = ()
    cache_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class JobEventKind(enum.StrEnum):
    """What happened to a job."""

    STARTED = "started"
    STEP_STARTED = "step_started"
    OUTPUT = "output"
    STEP_FINISHED = "step_finished"
    FINISHED = "finished"
    CACHE_POISONED = "cache_poisoned"


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job ended. ``status`` is passed, failed, cancelled or error."""

    status: JobState
    reason: str | None = None
    collected: Mapping[str, bytes] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    failed_step: int | None = None


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One event of one job; ``data`` is output bytes for OUTPUT."""

    kind: JobEventKind
    job: str
    step_index: int | None = None
    step_name: str | None = None
    exit_code: int | None = None
    data: bytes = b""
    outcome: JobOutcome | None = None
    at: float = 0.0
    details: Mapping[str, str] = field(default_factory=dict)


JobEventSink = Callable[[JobEvent], None]


class JobHandle(Protocol):
    """A submitted job."""

    def cancel(self) -> None:
        """Ask the job to stop; its sandbox is killed and cleaned."""
        ...

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        """The outcome, or None if still running after ``timeout`` seconds."""
        ...


class Executor(Protocol):
    """Runs jobs somewhere and reports their events."""

    name: str

    def submit(self, spec: JobSpec, on_event: JobEventSink) -> JobHandle:
        """Start ``spec``; events arrive on ``on_event`` from any thread."""
        ...

    def shutdown(self) -> None:
        """Cancel what runs and release resources."""
        ...
