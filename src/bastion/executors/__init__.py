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
from bastion.executors.secret_guard import (
    JobMasking,
    MaskingFactory,
    NoMasking,
    OutputFilter,
    SecretRefused,
    SecretScan,
)

__all__ = [
    "CacheSpec",
    "Executor",
    "JobEvent",
    "JobEventKind",
    "JobHandle",
    "JobMasking",
    "JobOutcome",
    "JobSpec",
    "JobState",
    "LocalExecutor",
    "MaskingFactory",
    "NoMasking",
    "OutputFilter",
    "ReceivedArtifact",
    "SecretRefused",
    "SecretScan",
    "StepSpec",
    "WorkspaceSource",
    "run_job",
]
