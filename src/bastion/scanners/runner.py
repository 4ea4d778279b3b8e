"""Run one gate and write its report: the program the engine starts inside the sandbox.

    python -I -m bastion.scanners --gate sast --root . --options-json '{}' --out report.json

Scanners parse untrusted code, so the engine never calls a gate in its own process: it runs
this module in a sandbox (``bastion.engine.gates.run_gate_sandboxed``) and reads the report
file back. ``-I`` matters: without it Python puts the working directory (the scanned
repository) first on ``sys.path`` and a repository could shadow any module we import.

The report is JSON (``format`` ``bastion-gate-report/1``)::

    {"format": ..., "gate": "sast", "findings": [Finding.to_dict(), ...],
     "facts": {...}, "notes": [...], "notices": [...]}

or, when the gate raised one of Bastion's errors, ``{"format", "gate", "error": {"type",
"message", "hint"}}`` and exit status 1. Any other exception is a bug in a gate: it escapes
with its traceback (exit 1, no report) and the engine fails the gate closed, showing the
last lines of output.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bastion.errors import BastionError, GateError, ToolMissingError, UsageError
from bastion.scanners.finding import Finding
from bastion.scanners.interface import GateReport, ScanRequest
from bastion.scanners.registry import load_gate

__all__ = [
    "MAX_CPU_SECONDS",
    "REPORT_FORMAT",
    "decode_report",
    "encode_error",
    "encode_report",
    "main",
    "run_gate",
]

REPORT_FORMAT = "bastion-gate-report/1"
MAX_CPU_SECONDS = 7 * 24 * 3600.0
"""A reported CPU time above this (or negative, or not a finite number) is not believed."""
# Error types a report may name; anything else read back becomes a plain GateError.
_ERROR_TYPES: dict[str, type[BastionError]] = {
    "GateError": GateError,
    "ToolMissingError": ToolMissingError,
    "UsageError": UsageError,
}


def run_gate(
    gate_name: str, root: Path, options: Mapping[str, Any], commit: str | None = None
) -> GateReport:
    """Load ``gate_name`` and scan ``root`` (in this process: call it only in a sandbox)."""
    gate = load_gate(gate_name)
    report = gate.scan(ScanRequest(root=root, options=options, commit=commit))
    if report.gate != gate_name:
        raise GateError(f"gate {gate_name!r} returned a report for {report.gate!r}")
    return report


def encode_report(report: GateReport) -> dict[str, Any]:
    """The JSON document for ``report``."""
    return {
        "format": REPORT_FORMAT,
        "gate": report.gate,
        "findings": [f.to_dict() for f in report.findings],
        "facts": dict(report.facts),
        "notes": list(report.notes),
        "notices": list(report.notices),
        **({"cpu_seconds": report.cpu_seconds} if report.cpu_seconds is not None else {}),
    }


def encode_error(gate_name: str, exc: BastionError) -> dict[str, Any]:
    """The JSON document for a gate that raised ``exc``."""
    kind = "GateError"
    for name in ("ToolMissingError", "UsageError"):
        if isinstance(exc, _ERROR_TYPES[name]):
            kind = name
            break
    return {
        "format": REPORT_FORMAT,
        "gate": gate_name,
        "error": {"type": kind, "message": exc.message, "hint": exc.hint},
    }


def decode_report(doc: Any, *, gate_name: str, source: str) -> GateReport:
    """Parse a report document; raises the gate's own error, or GateError if malformed."""
    if not isinstance(doc, dict) or doc.get("format") != REPORT_FORMAT:
        raise GateError(f"{source}: not a Bastion gate report")
    if doc.get("gate") != gate_name:
        raise GateError(f"{source}: report is for gate {doc.get('gate')!r}, not {gate_name!r}")
    error = doc.get("error")
    if isinstance(error, dict):
        cls = _ERROR_TYPES.get(str(error.get("type")), GateError)
        hint = error.get("hint")
        message = str(error.get("message") or "failed")
        if not message.startswith("bastion/"):
            message = f"bastion/{gate_name}: {message}"
        raise cls(message, hint=hint if isinstance(hint, str) else None)
    try:
        findings = tuple(Finding.from_dict(item) for item in doc["findings"])
        facts = doc.get("facts", {})
        notes = tuple(str(n) for n in doc.get("notes", []))
        notices = tuple(str(n) for n in doc.get("notices", []))
        if not isinstance(facts, dict):
            raise TypeError("facts must be an object")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GateError(f"{source}: malformed gate report: {exc!r}") from exc
    wrong = [f.gate for f in findings if f.gate != gate_name]
    if wrong:
        raise GateError(f"{source}: report of {gate_name!r} holds findings of {wrong[0]!r}")
    return GateReport(
        gate=gate_name,
        findings=findings,
        facts=facts,
        notes=notes,
        notices=notices,
        cpu_seconds=_cpu_figure(doc.get("cpu_seconds")),
    )


def _cpu_figure(value: Any) -> float | None:
    """A believable CPU time from a report written in the sandbox, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and not 0 <= value <= MAX_CPU_SECONDS:
        return None  # compared before float(): a huge integer would overflow it
    seconds = float(value)
    return seconds if 0.0 <= seconds <= MAX_CPU_SECONDS else None  # NaN fails both


def _write_atomically(path: Path, doc: Mapping[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    # default=str: a gate's facts may hold paths or dates; the report stays readable.
    partial.write_text(json.dumps(doc, default=str), encoding="utf-8")
    os.replace(partial, path)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bastion.scanners", description=__doc__)
    parser.add_argument("--gate", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--options-json", default="{}")
    parser.add_argument("--commit", default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 with a report written, 1 with an error report written."""
    args = _parse_args(argv)
    try:
        options = json.loads(args.options_json)
        if not isinstance(options, dict):
            raise UsageError(f"bastion/{args.gate}: options must be a mapping")
        report = run_gate(args.gate, args.root.resolve(), options, args.commit)
    except json.JSONDecodeError as exc:
        _write_atomically(args.out, encode_error(args.gate, GateError(f"bad options: {exc}")))
        return 1
    except BastionError as exc:
        _write_atomically(args.out, encode_error(args.gate, exc))
        return 1
    measured = replace(report, cpu_seconds=round(_cpu_seconds(), 3))
    _write_atomically(args.out, encode_report(measured))
    for notice in report.notices:  # in a run, this output is the gate job's log
        print(f"bastion/{args.gate}: {notice}", file=sys.stderr)
    return 0


def _cpu_seconds() -> float:
    """CPU time of this process and every tool it ran and waited for (user + system)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total
