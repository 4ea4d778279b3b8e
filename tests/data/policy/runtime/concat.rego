package bastion.gate

import rego.v1

deny contains msg if {
	msg := concat(",", input.gates.sca.facts.names)
}
