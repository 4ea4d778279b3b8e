"""Engine events: what observers (the live view, the recorder, the audit log) are told.

The engine never prints or writes files itself; it emits these, in order, from one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bastion.engine.model import GateVerdict, JobState, RunContext, RunId, RunState

__all__ = [
    "CachePoisoned",
    "JobChanged",
    "JobOutput",
    "Observer",
    "RunFinished",
    "RunStarted",
    "StepChanged",
]


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: RunId
    context: RunContext
    pipeline_source: str
    pipeline_digest: str
    jobs: tuple[str, ...]
    needs: Mapping[str, tuple[str, ...]]
    kinds: Mapping[str, str]
    at: float


@dataclass(frozen=True, slots=True)
class JobChanged:
    run_id: RunId
    job: str
    state: JobState
    at: float
    reason: str | None = None
    verdict: GateVerdict | None = None
    artifacts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StepChanged:
    run_id: RunId
    job: str
    index: int
    name: str
    state: JobState
    at: float
    exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class JobOutput:
    run_id: RunId
    job: str
    data: bytes


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: RunId
    state: RunState
    at: float
    reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CachePoisoned:
    """A job's cache entry did not match its digest; it was discarded, the job went on cold."""

    run_id: RunId
    job: str
    details: Mapping[str, str]
    at: float


Event = RunStarted | JobChanged | StepChanged | JobOutput | RunFinished | CachePoisoned


Observer = Callable[[Event], None]
"""Receives every engine event; must be quick (it runs on the engine's thread)."""
