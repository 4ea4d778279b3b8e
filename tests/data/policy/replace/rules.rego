package bastion.gate

import rego.v1

deny contains "a critical finding" if {
	some f in input.findings
	data.bastion.lib.actionable(f)
	f.severity == "critical"
}
