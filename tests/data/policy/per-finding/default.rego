# Bastion's default rules before input.finding_groups (see config.rego), unchanged.
package bastion.gate

import data.bastion.lib
import rego.v1

# One entry per rule below, naming every finding it covers by fingerprint (Bastion shows
# each finding's severity, rule and place). Array comprehensions, not one set entry per
# finding: rego-cpp 1.5.2 fills sets of objects in quadratic time.

# Any new, unsuppressed critical or high finding blocks.
severe := [f.fingerprint |
	some f in input.findings
	lib.actionable(f)
	f.severity in {"critical", "high"}
]

deny contains {
	"msg": sprintf("%d new critical or high finding(s): fix them or suppress them with a reason", [count(severe)]),
	"fingerprints": severe,
} if count(severe) > 0

# Any unsuppressed secret blocks, even one already in the baseline: a secret that was
# committed before is still exposed until it is rotated (then suppress it with a reason).
secrets := [f.fingerprint |
	some f in input.findings
	lib.unsuppressed(f)
	f.gate == "secrets"
]

deny contains {
	"msg": sprintf("%d secret(s) in the code: rotate each, then remove it or suppress it", [count(secrets)]),
	"fingerprints": secrets,
} if count(secrets) > 0

# New medium findings are reported but do not block.
medium := [f.fingerprint |
	some f in input.findings
	lib.actionable(f)
	f.severity == "medium"
]

warn contains {
	"msg": sprintf("%d new medium finding(s) (not blocking)", [count(medium)]),
	"fingerprints": medium,
} if count(medium) > 0

# Vulnerability data older than 30 days is reported (not blocking): new advisories are missed.
warn contains sprintf("bastion/sca judged dependencies against vulnerability data %d days old; refresh the OSV database", [age]) if {
	age := input.gates.sca.facts.database_age_days
	is_number(age)
	age > 30
}
