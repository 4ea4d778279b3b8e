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
    "Notice",
    "Observer",
    "RunFinished",
    "RunPrepared",
    "RunStarted",
    "StepChanged",
]


@dataclass(frozen=True, slots=True)
class RunPrepared:
    """The run exists (its id is known) and what it will run is settled; nothing ran yet."""

    run_id: RunId
    context: RunContext
    pipeline_source: str
    at: float


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person should be told that is not a job's state: a key made on first use,
    provenance stored unsigned, a gate's tools being installed, an interrupted run closed.

    ``run_id`` is None for what happens before the run exists (closing an earlier one).
    """

    run_id: RunId | None
    text: str
    at: float


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


Event = (
    RunPrepared
    | Notice
    | RunStarted
    | JobChanged
    | StepChanged
    | JobOutput
    | RunFinished
    | CachePoisoned
)


Observer = Callable[[Event], None]
"""Receives every engine event; must be quick (it runs on the engine's thread)."""
