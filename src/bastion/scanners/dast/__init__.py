"""The DAST gate (``uses: bastion/dast``): the running service, probed from its own sandbox.

>>> from bastion.scanners.dast import DastGate
>>> DastGate().name
'dast'
"""

from bastion.scanners.dast.evidence import GATE_NAME
from bastion.scanners.dast.gate import DastGate, DastOptions
from bastion.scanners.dast.rules import RULES, ProbeClass, Rule

__all__ = ["GATE_NAME", "RULES", "DastGate", "DastOptions", "ProbeClass", "Rule"]
