"""``uses: bastion/sarif``: any scanner that writes SARIF becomes a gate.

- uses: bastion/sarif
  with:
    command: semgrep scan --config rules.yml --sarif --output "$BASTION_SARIF" .
    exit_codes: [0, 1]
"""

from bastion.scanners.sarif_gate.gate import SarifGate, SarifGateOptions

__all__ = ["SarifGate", "SarifGateOptions"]
