"""Security gates: one subpackage per gate, the shared Finding type, SARIF in and out."""

from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import Gate, GateReport, ScanRequest

__all__ = ["Finding", "Gate", "GateReport", "Location", "ScanRequest", "Severity"]
