"""The IaC gate (``uses: bastion/iac``): Checkov, offline, over infrastructure code.

>>> from bastion.scanners.iac import IacGate
>>> IacGate().name
'iac'
"""

from bastion.scanners.iac.gate import DEFAULT_FRAMEWORKS, IacGate

__all__ = ["DEFAULT_FRAMEWORKS", "IacGate"]
