"""DAST gate benchmark (issue 18): the planted-flaw web service and its fixed twin, probed
by ``bastion/dast`` inside one bubblewrap sandbox (network none: its own loopback only),
exactly as a pipeline's gate job runs it (the engine's ``run_gate_sandboxed``).

    .venv/bin/python benchmarks/dast.py [--runs 3]

Targets: passive checks <= 5 s, the whole gate <= 60 s. Reported per example: the gate's
wall time end to end (sandbox, service start, health wait, probes, fuzzing, stop), the
phases as the gate timed them, requests sent per kind and findings per class.
"""

# ruff: noqa: E402 - the imports after the sys.path fix below must come after it
from __future__ import annotations

import os
import sys

# First thing, before any other import: running this file puts benchmarks/ on sys.path, where
# benchmarks/secrets.py would shadow the standard library's ``secrets`` the engine imports.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bastion.engine.gates import run_gate_sandboxed
from bastion.sandbox import BubblewrapSandbox, check_sandbox_available

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSIVE_TARGET, TOTAL_TARGET = 5.0, 60.0
OPTIONS = {
    "command": "python3 src/__main__.py --port 8080",
    "health": "http://127.0.0.1:8080/health",
    "openapi": "/openapi.json",
}


def measure(example: str, runs: int) -> dict[str, Any]:
    """Median wall time over ``runs`` sandboxed gate runs, with the last run's facts."""
    sandbox = BubblewrapSandbox()
    walls: list[float] = []
    facts: dict[str, Any] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            workspace = Path(scratch) / "ws"
            shutil.copytree(EXAMPLES / example, workspace)
            started = time.monotonic()
            report = run_gate_sandboxed(sandbox, "dast", workspace, OPTIONS)
            walls.append(time.monotonic() - started)
            facts = dict(report.facts)
            facts["findings"] = len(report.findings)
    seconds = facts["seconds"]
    return {
        "wall_seconds": round(statistics.median(walls), 3),
        "passive_seconds": seconds["passive"],
        "probe_seconds": seconds["total"],
        "passive_ok": seconds["passive"] <= PASSIVE_TARGET,
        "total_ok": statistics.median(walls) <= TOTAL_TARGET,
        "requests": facts["requests"],
        "requests_by_kind": facts["requests_by_kind"],
        "findings": facts["findings"],
        "findings_by_class": facts["findings_by_class"],
    }


def main() -> None:
    """Measure both examples and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    check_sandbox_available()
    result = {name: measure(name, args.runs) for name in ("vulnerable-webapp", "webapp")}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
