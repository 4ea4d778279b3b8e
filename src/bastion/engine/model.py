"""A run's vocabulary: states, context, the verdict of a gate, the result of a run.

A gate's findings reach the run table through three result types, one per stage:

1. the gate's report, :class:`bastion.scanners.GateReport` (findings and facts), held by
   :class:`bastion.engine.gates.GateOutcome` beside the error when the gate could not report;
2. the policy's decision, :class:`bastion.engine.gates.GateDecision`: the Rego decision
   (:class:`bastion.policy.Decision`) with the assessed findings behind it; ``bastion scan``
   prints it (``--json`` is its ``to_dict()``);
3. the verdict shown and recorded, :class:`GateVerdict`: passed or blocked, the reasons and
   typed counts (:class:`FindingCounts`) and notes; the run table and events carry it
   (stored as :meth:`GateVerdict.to_summary`), and provenance records it as
   ``supplychain.GateResult`` (gate, pass/block, finding count).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NewType, Protocol

# Re-exported: the engine's vocabulary includes the one trust enum and run context, and
# the job states an executor's outcome is given in.
from bastion.engine.run_findings import JudgedFinding
from bastion.executors import JobState
from bastion.trust import RunContext, Trust

__all__ = [
    "FindingCounts",
    "GateEvaluator",
    "GateVerdict",
    "JobState",
    "RunContext",
    "RunId",
    "RunResult",
    "RunState",
    "Trust",
]

RunId = NewType("RunId", int)


class RunState(enum.StrEnum):
    """States of a run; the last five are final."""

    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    ERROR = "error"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for a run that ended in this state."""
        return _EXIT[self]


_EXIT = {
    RunState.QUEUED: 3,
    RunState.RUNNING: 3,
    RunState.PASSED: 0,
    RunState.FAILED: 1,
    RunState.BLOCKED: 1,
    RunState.CANCELLED: 130,
    RunState.ERROR: 3,
}


@dataclass(frozen=True, slots=True)
class FindingCounts:
    """How many findings the policy judged: all, new (not in the baseline), suppressed, and
    all by severity name (``{"high": 2}``; a severity with no finding is absent)."""

    total: int = 0
    new: int = 0
    suppressed: int = 0
    by_severity: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts = (self.total, self.new, self.suppressed, *self.by_severity.values())
        if min(counts) < 0 or max(self.new, self.suppressed) > self.total:
            raise ValueError(f"inconsistent finding counts: {self}")


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """A gate's decision: passed or blocked, why, and what the policy judged.

    ``counts`` is None when the policy never judged findings (the verdict failed closed
    before it could: no report, no policy engine); the notes and ``items`` exist only
    beside counts. ``warnings`` are the policy's, ``notes`` its remarks (also among the
    ``reasons``), ``gate_notes`` what the gate itself said (e.g. which vulnerability data it
    judged against); ``items`` is each finding as the server lists it for triage, or None
    when the evaluator lists none. :meth:`to_summary` is the shape stored and printed.
    """

    passed: bool
    reasons: tuple[str, ...] = ()
    counts: FindingCounts | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    gate_notes: tuple[str, ...] = ()
    items: tuple[Mapping[str, Any], ...] | None = None
    # CPU seconds the gate reported using: it steers the next run's priorities only, so it
    # stays out of the summary (recorded and printed, and the same from run to run).
    cpu_seconds: float | None = None
    # Every finding the policy judged, suppressed ones too (the run's ``findings`` table).
    judged: tuple[JudgedFinding, ...] = ()

    def __post_init__(self) -> None:
        extra = self.warnings or self.notes or self.gate_notes or self.items is not None
        if self.counts is None and extra:
            raise ValueError("a verdict with notes or items must say what the policy counted")

    @property
    def findings(self) -> int | None:
        """How many findings were judged; None when none could be (failed closed)."""
        return None if self.counts is None else self.counts.total

    def to_summary(self) -> dict[str, Any]:
        """The summary as the run record, the audit log and ``bastion run --json`` hold it
        (``{}`` for a verdict that failed closed before the policy judged anything)."""
        counts = self.counts
        if counts is None:
            return {}
        summary: dict[str, Any] = {
            "findings": counts.total,
            "new": counts.new,
            "suppressed": counts.suppressed,
            "by_severity": dict(counts.by_severity),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "gate_notes": list(self.gate_notes),
        }
        if self.items is not None:
            summary["items"] = [dict(item) for item in self.items]
        return summary


class GateEvaluator(Protocol):
    """Turns a gate job's collected report into a verdict (policy lives behind this)."""

    def report_path(self, gate: str) -> str:
        """Workspace-relative path where the sandboxed gate writes its report."""
        ...

    def command(self, gate: str, options: Mapping[str, Any], report_path: str) -> tuple[str, ...]:
        """The argv that runs ``gate`` inside the sandbox."""
        ...

    def binds(self, gate: str) -> tuple[str, ...]:
        """Host directories the gate needs read-only (tool environments, databases)."""
        ...

    def evaluate(
        self, job: str, gate: str, report: bytes | None, context: RunContext
    ) -> GateVerdict:
        """Decide; a missing or unreadable report must block (fail closed)."""
        ...


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended."""

    run_id: RunId
    state: RunState
    jobs: Mapping[str, JobState]
    reasons: Mapping[str, str]
    verdicts: Mapping[str, GateVerdict] = field(default_factory=dict)
    artifacts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    attestations: tuple[Mapping[str, Any], ...] = ()
