"""The SAST gate (``uses: bastion/sast``): Bandit and Semgrep with Bastion's own rules.

>>> from bastion.scanners.sast import SastGate
>>> SastGate().name
'sast'
"""

from bastion.scanners.sast.gate import SastGate, merge_findings

__all__ = ["SastGate", "merge_findings"]
