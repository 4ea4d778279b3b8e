"""The CI configuration gate (``uses: bastion/ciconfig``): workflows judged offline.

>>> from bastion.scanners.ciconfig import CiconfigGate
>>> CiconfigGate().name
'ciconfig'
"""

from bastion.scanners.ciconfig.advisories import ActionAdvisories, install_advisories
from bastion.scanners.ciconfig.discover import CiKind, ci_files, has_ci_files
from bastion.scanners.ciconfig.gate import GATE_NAME, CiconfigGate, scan_ciconfig
from bastion.scanners.ciconfig.rules import RULES, Confidence, RuleInfo

__all__ = [
    "GATE_NAME",
    "RULES",
    "ActionAdvisories",
    "CiKind",
    "CiconfigGate",
    "Confidence",
    "RuleInfo",
    "ci_files",
    "has_ci_files",
    "install_advisories",
    "scan_ciconfig",
]
