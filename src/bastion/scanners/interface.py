"""What a gate is, to the engine and the CLI.

A gate takes a directory tree and options and returns findings; it knows nothing of runs.
It never decides pass or block: the policy package does, from the findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bastion.scanners.finding import Finding

__all__ = ["Gate", "GateReport", "ScanRequest"]


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """What to scan: a tree on disk, the gate's ``with:`` options, the commit if known."""

    root: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class GateReport:
    """A gate's output: its findings and facts the policy may use (e.g. database age)."""

    gate: str
    findings: tuple[Finding, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # CPU seconds the sandboxed run used (runner and tools), when known. Not a fact: it
    # steers scheduling only, and facts (the policy's input, a baseline file) stay the same
    # from one scan of the same tree to the next.
    cpu_seconds: float | None = None


class Gate(Protocol):
    """A security gate. Raise ``bastion.errors.GateError`` when no decision is possible."""

    name: str

    def scan(self, request: ScanRequest) -> GateReport:
        """Scan ``request.root`` and report every finding."""
        ...
