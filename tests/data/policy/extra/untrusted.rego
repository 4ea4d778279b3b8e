# A user rule added to the default: untrusted runs may not bring in medium findings either.
package bastion.gate

import rego.v1

deny contains {"msg": concat("", ["untrusted run adds ", f.rule_id, " at ", f.where]), "fingerprints": [f.fingerprint]} if {
	input.context.trust == "untrusted"
	some f in input.findings
	data.bastion.lib.actionable(f)
	f.severity == "medium"
}
