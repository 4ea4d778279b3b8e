# Bastion's policy helpers (package bastion.lib), always loaded, also when a user policy
# replaces the default. See default.rego for the contract.
package bastion.lib

import rego.v1

# Functions, not sets of findings: rego-cpp 1.5.2 builds sets of objects in quadratic time
# (5,000 findings took minutes), while filtering input.findings with a function is linear.

# True for a finding that is new relative to the baseline and not suppressed.
actionable(f) if {
	f.new == true
	f.suppressed == false
}

# True for a finding not suppressed, whether or not it was in the baseline.
unsuppressed(f) if f.suppressed == false

# A deny/warn entry that names one finding: "HIGH sast/py-eval at app.py:3: message (why)".
# Built with concat, not sprintf: rego-cpp 1.5.2's sprintf quotes computed strings.
reason(f, why) := {
	"msg": concat("", [upper(f.severity), " ", f.gate, "/", f.rule_id, " at ", f.where, ": ", f.message, " (", why, ")"]),
	"fingerprints": [f.fingerprint],
}
