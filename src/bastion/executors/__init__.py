"""Where jobs run: ``local`` (threads on this machine); a Celery executor can implement the
same :class:`Executor` interface without the engine changing."""

from bastion.executors.interface import (
    CacheSpec,
    Executor,
    JobEvent,
    JobEventKind,
    JobHandle,
    JobOutcome,
    JobSpec,
    JobState,
    ReceivedArtifact,
    StepSpec,
    WorkspaceSource,
)
from bastion.executors.job_runner import run_job
from bastion.executors.local import LocalExecutor

__all__ = [
    "CacheSpec",
    "Executor",
    "JobEvent",
    "JobEventKind",
    "JobHandle",
    "JobOutcome",
    "JobSpec",
    "JobState",
    "LocalExecutor",
    "ReceivedArtifact",
    "StepSpec",
    "WorkspaceSource",
    "run_job",
]
