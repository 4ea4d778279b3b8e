"""The plan: a pipeline's jobs as a DAG, checked for cycles, in a stable topological order.

Matrix jobs are expanded here (:mod:`bastion.pipeline.expansion`): the plan's jobs are the
jobs that run, ``test (3.11)`` and ``test (3.12)`` for a file's ``test``, and ``groups`` maps
each job of the file to the names it became.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bastion.errors import PipelineError
from bastion.pipeline.expansion import expand_pipeline
from bastion.pipeline.schema import Job, Pipeline

__all__ = ["Plan", "plan_pipeline"]


@dataclass(frozen=True, slots=True)
class Plan:
    """Jobs in topological order (ties broken by file order) and each job's dependents.

    ``groups`` maps each job of the file to the jobs it expanded to (itself, without a
    matrix).
    """

    order: tuple[str, ...]
    jobs: Mapping[str, Job]
    dependents: Mapping[str, tuple[str, ...]]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

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

    def resolve(self, name: str) -> tuple[str, ...]:
        """The jobs ``name`` selects: a file job's expansions, or one expanded job itself;
        empty when there is no such job."""
        if name in self.groups:
            return self.groups[name]
        return (name,) if name in self.jobs else ()

    def origin(self, name: str) -> str:
        """The job of the file that job ``name`` was expanded from (``name`` itself if none)."""
        return next((job for job, names in self.groups.items() if name in names), name)

    def only(self, names: Iterable[str], *, source: str = "<pipeline>") -> Plan:
        """The plan cut down to the jobs ``names`` select and everything they need."""
        wanted: set[str] = set()
        stack = [job for name in names for job in self.resolve(name)]
        while stack:
            current = stack.pop()
            if current not in wanted:
                wanted.add(current)
                stack.extend(self.needs(current))
        jobs = {name: job for name, job in self.jobs.items() if name in wanted}
        groups = {
            name: kept
            for name, expanded in self.groups.items()
            if (kept := tuple(job for job in expanded if job in wanted))
        }
        return _plan_jobs(jobs, groups, source)


def plan_pipeline(pipeline: Pipeline, *, source: str = "<pipeline>") -> Plan:
    """Expand matrix jobs and order the jobs; :class:`PipelineError` naming the cycle if
    there is one."""
    jobs, groups = expand_pipeline(pipeline, source=source)
    return _plan_jobs(jobs, groups, source)


def _plan_jobs(jobs: Mapping[str, Job], groups: Mapping[str, tuple[str, ...]], source: str) -> Plan:
    names = list(jobs)
    dependents: dict[str, list[str]] = {name: [] for name in names}
    remaining = {name: len(set(jobs[name].needs)) for name in names}
    for name in names:
        for need in set(jobs[name].needs):
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
        cycle = _find_cycle(jobs, {n for n in names if n not in order})
        raise PipelineError(
            "jobs depend on each other in a cycle: " + " -> ".join(cycle),
            path=source,
            hint="remove one of these `needs:` entries so the jobs can run in some order",
        )
    return Plan(
        order=tuple(order),
        jobs=dict(jobs),
        dependents={k: tuple(sorted(v, key=position.__getitem__)) for k, v in dependents.items()},
        groups=dict(groups),
    )


def _find_cycle(jobs: Mapping[str, Job], stuck: set[str]) -> list[str]:
    start = min(stuck)
    path = [start]
    seen = {start}
    current = start
    while True:
        nxt = sorted(n for n in jobs[current].needs if n in stuck)[0]
        if nxt in seen:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)
        seen.add(nxt)
        current = nxt
