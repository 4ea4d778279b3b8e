"""A fake sandbox for gate tests: it shows trees read-only and writes each gate's report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bastion.sandbox import SandboxResult, SandboxSpec
from bastion.scanners.interface import GateReport
from bastion.scanners.runner import encode_report

__all__ = ["ViewSandbox"]


def _gate_of(spec: SandboxSpec) -> str:
    argv = list(spec.argv)
    return argv[argv.index("--gate") + 1]


class ViewSandbox:
    """Records each spec, sleeps ``seconds``, then writes an empty report for its gate with
    the CPU seconds given for that gate (as the in-sandbox runner would report them)."""

    shows_read_only_source = True

    def __init__(self, seconds: float = 0.0, cpu: Mapping[str, float] | None = None) -> None:
        self.seconds = seconds
        self.cpu = dict(cpu or {})
        self.specs: list[SandboxSpec] = []
        self.intervals: list[tuple[float, float]] = []  # (start, end) of each run, monotonic

    def run(
        self,
        spec: SandboxSpec,
        on_output: Callable[[bytes], None],
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        self.specs.append(spec)
        argv = list(spec.argv)
        gate = _gate_of(spec)
        out = Path(argv[argv.index("--out") + 1])
        assert out.parent == Path("..")  # the report goes beside the view, not into it
        began = time.monotonic()
        time.sleep(self.seconds)
        self.intervals.append((began, time.monotonic()))
        report = encode_report(GateReport(gate, (), cpu_seconds=self.cpu.get(gate)))
        (spec.workspace / out.name).write_text(json.dumps(report))
        return SandboxResult(0, self.seconds)

    def niceness(self) -> dict[str, int]:
        """Gate name -> the niceness its sandbox was given."""
        return {_gate_of(spec): spec.limits.nice for spec in self.specs}
