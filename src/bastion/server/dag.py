"""A run's jobs as a picture: the DAG laid out in columns by depth, drawn as SVG on the
server (the template writes the elements; every name is escaped there, no script).

The edges come from the pipeline at the run's commit, read again from the registered
repository; a run whose pipeline cannot be read (a CLI run, a repository since removed) is
drawn without edges, its jobs in one column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bastion.engine import read_file_at_commit
from bastion.errors import BastionError
from bastion.pipeline import parse_pipeline, plan_pipeline

__all__ = ["Edge", "Node", "Picture", "layout", "needs_at"]

_W, _H, _GAP_X, _GAP_Y, _PAD = 180, 36, 60, 16, 10
_MAX_LABEL = 24


@dataclass(frozen=True)
class Node:
    """One job's box: where, its name (shortened to fit), its status and its log link."""

    name: str
    label: str
    status: str
    x: int
    y: int
    width: int = _W
    height: int = _H


@dataclass(frozen=True)
class Edge:
    """An arrow from a job to one that needs it."""

    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Picture:
    """Everything the template draws."""

    width: int
    height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def needs_at(repo: Path, commit: str | None, pipeline_path: str) -> Mapping[str, tuple[str, ...]]:
    """Each job's needs from the pipeline file at ``commit``; {} when it cannot be read."""
    relative = pipeline_path.partition("@")[0]
    if commit is None or not relative.startswith(".bastion/"):
        return {}
    try:
        raw = read_file_at_commit(repo, commit, relative)
        if raw is None:
            return {}
        plan = plan_pipeline(parse_pipeline(raw, source=relative).pipeline, source=relative)
    except BastionError:
        return {}
    return {name: plan.needs(name) for name in plan.order}


def _depths(names: Sequence[str], needs: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for name in names:  # the run's jobs are recorded in the plan's topological order
        known = [depth[n] for n in needs.get(name, ()) if n in depth]
        depth[name] = 1 + max(known) if known else 0
    return depth


def layout(jobs: Sequence[tuple[str, str]], needs: Mapping[str, tuple[str, ...]]) -> Picture:
    """Columns by depth (a job right of everything it needs), rows in the run's order."""
    depth = _depths([name for name, _ in jobs], needs)
    rows: dict[int, int] = {}
    nodes: dict[str, Node] = {}
    for name, status in jobs:
        column = depth[name]
        row = rows.get(column, 0)
        rows[column] = row + 1
        label = name if len(name) <= _MAX_LABEL else name[: _MAX_LABEL - 1] + "…"
        x, y = _PAD + column * (_W + _GAP_X), _PAD + row * (_H + _GAP_Y)
        nodes[name] = Node(name, label, status, x, y)
    edges = tuple(
        Edge(
            nodes[need].x + _W,
            nodes[need].y + _H // 2,
            nodes[name].x,
            nodes[name].y + _H // 2,
        )
        for name, _ in jobs
        for need in needs.get(name, ())
        if need in nodes
    )
    columns = max(depth.values(), default=0) + 1
    height = max(rows.values(), default=1)
    return Picture(
        2 * _PAD + columns * _W + (columns - 1) * _GAP_X,
        2 * _PAD + height * _H + (height - 1) * _GAP_Y,
        tuple(nodes.values()),
        edges,
    )
