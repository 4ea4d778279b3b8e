"""JobSpec, JobEvent and JobOutcome as plain JSON values (bytes as base64), and back.

>>> from bastion.executors.interface import JobSpec, StepSpec, WorkspaceSource
>>> spec = JobSpec(1, "test", (StepSpec("s", ("true",)),), WorkspaceSource("/src"))
>>> spec_from_json(spec_to_json(spec)) == spec
True
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from bastion.executors.interface import (
    CacheSpec,
    JobEvent,
    JobEventKind,
    JobOutcome,
    JobSpec,
    JobState,
    ReceivedArtifact,
    StepSpec,
    WorkspaceSource,
)
from bastion.sandbox import NetworkMode, SyscallGroup

__all__ = [
    "event_from_json",
    "event_to_json",
    "outcome_from_json",
    "outcome_to_json",
    "spec_from_json",
    "spec_to_json",
]


def spec_to_json(spec: JobSpec) -> dict[str, Any]:
    """``spec`` as JSON values (tuples become lists)."""
    return asdict(spec)


def _cache_key(part: Any) -> str | tuple[str, ...]:
    return str(part) if isinstance(part, str) else tuple(str(p) for p in part)


def spec_from_json(data: Mapping[str, Any]) -> JobSpec:
    """The :class:`JobSpec` ``data`` describes (from a verified message only)."""
    fields = dict(data)
    fields["steps"] = tuple(
        StepSpec(
            name=s["name"],
            argv=tuple(s["argv"]),
            env=dict(s["env"]),
            working_directory=s["working_directory"],
            timeout_seconds=float(s["timeout_seconds"]),
        )
        for s in data["steps"]
    )
    fields["source"] = WorkspaceSource(**data["source"])
    fields["env"] = dict(data["env"])
    fields["network"] = NetworkMode(data["network"])
    for name in ("read_only_binds", "collect", "artifacts", "exclude"):
        fields[name] = tuple(data[name])
    fields["inject"] = tuple((str(a), str(b)) for a, b in data["inject"])
    fields["receive"] = tuple(ReceivedArtifact(**r) for r in data["receive"])
    fields["syscalls"] = tuple(SyscallGroup(g) for g in data["syscalls"])
    fields["cache"] = tuple(
        CacheSpec(key=tuple(_cache_key(p) for p in c["key"]), paths=tuple(c["paths"]))
        for c in data["cache"]
    )
    return JobSpec(**fields)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def outcome_to_json(outcome: JobOutcome) -> dict[str, Any]:
    """``outcome`` as JSON values; collected reports as base64."""
    return {
        "status": outcome.status.value,
        "reason": outcome.reason,
        "collected": {k: _b64(v) for k, v in outcome.collected.items()},
        "artifacts": list(outcome.artifacts),
        "failed_step": outcome.failed_step,
    }


def outcome_from_json(data: Mapping[str, Any]) -> JobOutcome:
    """The :class:`JobOutcome` ``data`` describes."""
    return JobOutcome(
        status=JobState(data["status"]),
        reason=data.get("reason"),
        collected={str(k): base64.b64decode(v) for k, v in data["collected"].items()},
        artifacts=tuple(data["artifacts"]),
        failed_step=data.get("failed_step"),
    )


def event_to_json(event: JobEvent) -> dict[str, Any]:
    """``event`` as JSON values; output bytes as base64."""
    return {
        "kind": event.kind.value,
        "job": event.job,
        "step_index": event.step_index,
        "step_name": event.step_name,
        "exit_code": event.exit_code,
        "data": _b64(event.data),
        "outcome": None if event.outcome is None else outcome_to_json(event.outcome),
        "at": event.at,
        "details": dict(event.details),
    }


def event_from_json(data: Mapping[str, Any]) -> JobEvent:
    """The :class:`JobEvent` ``data`` describes."""
    outcome = data.get("outcome")
    return JobEvent(
        kind=JobEventKind(data["kind"]),
        job=data["job"],
        step_index=data.get("step_index"),
        step_name=data.get("step_name"),
        exit_code=data.get("exit_code"),
        data=base64.b64decode(data.get("data", "")),
        outcome=None if outcome is None else outcome_from_json(outcome),
        at=float(data.get("at", 0.0)),
        details={str(k): str(v) for k, v in data.get("details", {}).items()},
    )
