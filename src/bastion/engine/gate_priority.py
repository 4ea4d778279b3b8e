"""Which concurrent gate goes first in line for the CPU: the one expected to take longest.

``bastion scan`` runs its gates at once. On a machine with fewer cores than the gates can
use, they slow each other down and the scan ends when the slowest, slowed, ends. Measured on
2 cores (``examples/``, Checkov about 3.0 s alone, Semgrep about 2.3 s): both at the same
priority took 3.3-4.5 s, with Semgrep at niceness 19 3.0-3.4 s. Running the other gates at a
higher niceness (:data:`YIELDING_NICE`) lets the critical one run almost as if alone, while
the others use what it leaves; the order of results and every finding stay the same.

What is expected of each gate is the CPU time its last scan of the same tree used (the
``cpu_seconds`` fact its runner reports), kept in ``$BASTION_HOME/cache/gate-cpu.json``. CPU
time, not wall time: a gate that yielded the CPU took longer by the clock without being the
longer job. Without a figure for every gate (a first scan), nobody yields. The file only
steers scheduling: an unreadable one is ignored and rewritten, and a failure to write it never
fails a scan.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from bastion.atomic import replacing
from bastion.engine.model import GateVerdict
from bastion.sandbox import Limits
from bastion.scanners.runner import MAX_CPU_SECONDS

__all__ = [
    "YIELDING_NICE",
    "GateCpuHistory",
    "cpu_by_gate",
    "limits_by_gate",
    "yielding_gate_jobs",
]

logger = logging.getLogger(__name__)

YIELDING_NICE = 10
"""Niceness of the gates that are not expected to take longest: low enough that the critical
gate gets the CPU it asks for, not so low that the others wait behind unrelated work."""

_FORMAT = "bastion-gate-cpu/1"
_MAX_TREES = 200


def limits_by_gate(
    gates: Sequence[str], expected_cpu: Mapping[str, float], base: Limits
) -> dict[str, Limits]:
    """``base`` for the gate expected to take longest, ``base`` made to yield for the rest.

    Everyone gets ``base`` unless every gate has an expectation and there are at least two.
    """
    if len(set(gates)) < 2 or any(name not in expected_cpu for name in gates):
        return {name: base for name in gates}
    critical = max(gates, key=lambda name: expected_cpu[name])
    yielding = replace(base, nice=max(base.nice, YIELDING_NICE))
    return {name: base if name == critical else yielding for name in gates}


def yielding_gate_jobs(
    gate_of: Mapping[str, str],
    expected_cpu: Mapping[str, float],
    ordered: Callable[[str, str], bool],
) -> frozenset[str]:
    """The gate jobs of a run that should yield the CPU (run at :data:`YIELDING_NICE`).

    ``gate_of`` maps each gate job to its gate, in plan order; ``ordered(a, b)`` says whether
    one of two jobs needs the other, so they never run at once. A job yields when a job it
    may run beside is expected to take longer (a tie goes to the earlier job in plan order):
    :func:`limits_by_gate`'s rule, applied to each job and the gate jobs it can meet. Nobody
    yields unless every gate of the run has a figure, as for ``bastion scan``.
    """
    if any(gate not in expected_cpu for gate in gate_of.values()):
        return frozenset()
    jobs = list(gate_of)

    def ahead(a: str, b: str) -> bool:
        """Whether job ``a`` goes before job ``b`` for the CPU."""
        cpu_a, cpu_b = expected_cpu[gate_of[a]], expected_cpu[gate_of[b]]
        return cpu_a > cpu_b or (cpu_a == cpu_b and jobs.index(a) < jobs.index(b))

    return frozenset(
        job
        for job in jobs
        if any(ahead(other, job) for other in jobs if other != job and not ordered(job, other))
    )


def cpu_by_gate(
    gate_of: Mapping[str, str], verdicts: Mapping[str, GateVerdict]
) -> dict[str, float]:
    """What a run's gate jobs reported using, per gate, to remember for the next run.

    Empty when the run had fewer than two gates (a lone gate has nobody to yield to, as for
    ``bastion scan``). A gate run by several jobs keeps its largest figure.
    """
    if len(set(gate_of.values())) < 2:
        return {}
    used: dict[str, float] = {}
    for job, verdict in verdicts.items():
        gate = gate_of.get(job)
        if gate is not None and verdict.cpu_seconds is not None:
            used[gate] = max(used.get(gate, 0.0), verdict.cpu_seconds)
    return used


class GateCpuHistory:
    """CPU seconds each gate used on each tree at its last scan, in one small JSON file."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @classmethod
    def in_home(cls, home: Path) -> GateCpuHistory:
        """The history kept under ``home`` (``$BASTION_HOME``)."""
        return cls(home / "cache" / "gate-cpu.json")

    def expected(self, tree: Path) -> dict[str, float]:
        """Gate name -> CPU seconds of its last scan of ``tree`` (empty when unknown)."""
        entry = self._load().get(_key(tree), {})
        return {
            name: float(seconds)
            for name, seconds in entry.items()
            if isinstance(seconds, float) and 0.0 <= seconds <= MAX_CPU_SECONDS
        }

    def remember(self, tree: Path, cpu_seconds: Mapping[str, float]) -> None:
        """Record this scan's figures for ``tree`` (the most recently used trees are kept)."""
        if not cpu_seconds:
            return
        trees = self._load()
        key = _key(tree)
        measured = {
            name: round(seconds, 3)
            for name, seconds in cpu_seconds.items()
            if 0.0 <= seconds <= MAX_CPU_SECONDS  # NaN fails too
        }
        entry = {**trees.pop(key, {}), **measured}
        trees[key] = entry  # last in the mapping = most recently used
        kept = dict(list(trees.items())[-_MAX_TREES:])
        try:
            self._write({"format": _FORMAT, "trees": kept})
        except (OSError, ValueError) as exc:
            logger.debug("gate CPU history not written to %s: %s", self._path, exc)

    def _load(self) -> dict[str, dict[str, float]]:
        try:
            doc = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            return {}
        trees = doc.get("trees")
        if not isinstance(trees, dict):
            return {}
        return {key: entry for key, entry in trees.items() if isinstance(entry, dict)}

    def _write(self, doc: Mapping[str, object]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(self._path, durable=False) as out:  # a cache: losing it costs nothing
            out.write(json.dumps(doc, allow_nan=False).encode())


def _key(tree: Path) -> str:
    """A tree's key: a digest of its absolute path (the file names no paths)."""
    return hashlib.sha256(os.fsencode(tree.resolve())).hexdigest()[:32]
