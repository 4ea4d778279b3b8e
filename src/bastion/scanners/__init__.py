"""Security gates: one subpackage per gate, the shared Finding type, SARIF in and out."""

import importlib
from typing import TYPE_CHECKING, Any

from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import Gate, GateName, GateReport, ScanRequest
from bastion.scanners.registry import available_gates, load_gate
from bastion.scanners.runner import MAX_CPU_SECONDS, decode_report

__all__ = [
    "MAX_CPU_SECONDS",
    "Finding",
    "Gate",
    "GateName",
    "GateReport",
    "Location",
    "ScanRequest",
    "Severity",
    "available_gates",
    "decode_report",
    "load_gate",
    "warm_up_for",
]

if TYPE_CHECKING:
    from bastion.scanners.warm_ups import warm_up_for


def __getattr__(name: str) -> Any:
    # PEP 562: warm-ups import the IaC gate and the tool installer, which a sandboxed gate's
    # `python -m bastion.scanners` must not pay for (~15 ms).
    if name != "warm_up_for":
        raise AttributeError(f"module 'bastion.scanners' has no attribute {name!r}")
    value = getattr(importlib.import_module("bastion.scanners.warm_ups"), name)
    globals()[name] = value
    return value
