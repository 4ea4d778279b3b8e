"""SARIF 2.1.0 out (for GitHub code scanning and any viewer) and in (any scanner as a gate).

>>> from bastion.scanners.finding import Finding, Location, Severity
>>> from bastion.scanners.sarif import findings_to_sarif, sarif_to_findings
>>> f = Finding.create(gate="sast", rule_id="py-eval", severity=Severity.HIGH,
...                    message="eval of input", location=Location("app.py", 3),
...                    match_key="eval(q)")
>>> doc = findings_to_sarif([f])
>>> sarif_to_findings(doc, gate="sast") == [f]
True
"""

from bastion.scanners.sarif.levels import FINGERPRINT_KEY
from bastion.scanners.sarif.reader import load_sarif, sarif_to_findings
from bastion.scanners.sarif.writer import (
    INLINE_JUSTIFICATION,
    LOCATION_FINGERPRINT_KEY,
    SARIF_SCHEMA_URI,
    SRCROOT,
    ToolInfo,
    findings_to_sarif,
    location_fingerprint,
    write_sarif,
)

__all__ = [
    "FINGERPRINT_KEY",
    "INLINE_JUSTIFICATION",
    "LOCATION_FINGERPRINT_KEY",
    "SARIF_SCHEMA_URI",
    "SRCROOT",
    "ToolInfo",
    "findings_to_sarif",
    "load_sarif",
    "location_fingerprint",
    "sarif_to_findings",
    "write_sarif",
]
