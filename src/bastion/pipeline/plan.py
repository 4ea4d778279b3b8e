"""The plan: a pipeline's jobs as a DAG, checked for cycles, in a stable topological order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bastion.errors import PipelineError
from bastion.pipeline.schema import Job, Pipeline

__all__ = ["Plan", "plan_pipeline"]


@dataclass(frozen=True, slots=True)
class Plan:
    """Jobs in topological order (ties broken by file order) and each job's dependents."""

    order: tuple[str, ...]
    jobs: Mapping[str, Job]
    dependents: Mapping[str, tuple[str, ...]]

    def needs(self, name: str) -> tuple[str, ...]:
        return tuple(self.jobs[name].needs)

    def downstream(self, name: str) -> set[str]:
        """Every job that transitively needs ``name``."""
        seen: set[str] = set()
        stack = list(self.dependents[name])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.dependents[current])
        return seen


def plan_pipeline(pipeline: Pipeline, *, source: str = "<pipeline>") -> Plan:
    """Order the jobs; :class:`PipelineError` naming the cycle if there is one."""
    names = list(pipeline.jobs)
    dependents: dict[str, list[str]] = {name: [] for name in names}
    remaining = {name: len(set(pipeline.jobs[name].needs)) for name in names}
    for name in names:
        for need in set(pipeline.jobs[name].needs):
            if need not in dependents:
                raise PipelineError(f"job '{name}' needs unknown job '{need}'", path=source)
            dependents[need].append(name)
    ready = [name for name in names if remaining[name] == 0]
    order: list[str] = []
    position = {name: i for i, name in enumerate(names)}
    while ready:
        ready.sort(key=position.__getitem__)
        current = ready.pop(0)
        order.append(current)
        for dependent in dependents[current]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                ready.append(dependent)
    if len(order) != len(names):
        cycle = _find_cycle(pipeline, {n for n in names if n not in order})
        raise PipelineError(
            "jobs depend on each other in a cycle: " + " -> ".join(cycle),
            path=source,
            hint="remove one of these `needs:` entries so the jobs can run in some order",
        )
    return Plan(
        order=tuple(order),
        jobs=dict(pipeline.jobs),
        dependents={k: tuple(sorted(v, key=position.__getitem__)) for k, v in dependents.items()},
    )


def _find_cycle(pipeline: Pipeline, stuck: set[str]) -> list[str]:
    start = min(stuck)
    path = [start]
    seen = {start}
    current = start
    while True:
        nxt = sorted(n for n in pipeline.jobs[current].needs if n in stuck)[0]
        if nxt in seen:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)
        seen.add(nxt)
        current = nxt
