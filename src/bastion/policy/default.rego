# Bastion's default gate policy.
#
# Contract (every policy, built-in or in .bastion/policy/*.rego):
#   package bastion.gate
#   deny contains entry if { ... }   # blocks; entry is a string or
#                                    #   {"msg": string, "fingerprints": [string, ...]}
#   warn contains entry if { ... }   # reported, never blocks (same shapes)
# User files in package bastion.gate add rules to these sets. To replace this file instead,
# put in any user file:
#   package bastion.config
#   replace_default := true
#
# input:
#   context:      {repo, ref, trust, event, commit}
#   findings:     [{rule_id, gate, severity, message, title, location{path, line, ...},
#                   fingerprint, cwe, ids, fix, properties, new, suppressed, where}]
#                 (given only to policies that read it: see below)
#   finding_groups: [{gate, severity, new, suppressed, count, fingerprints: [string]}]
#                 the findings grouped by gate, severity, new and suppressed, worst first
#   gates:        {<gate>: {facts: {...}, notes: [...], error: string|null}}
#   suppressions: [{status, owner, reason, expires, fingerprint|rule+path}]
# Helpers in package bastion.lib: actionable(f), unsuppressed(f), reason(f, why).
# Iterate `some f in input.findings` and filter with them. For thousands of findings prefer
# one deny entry listing fingerprints over one entry per finding, and rules over
# input.finding_groups (as below) where gate, severity, new and suppressed are enough:
# rego-cpp reads every value of the input, so Bastion leaves input.findings out unless a
# module names `input` other than as input.context, .gates, .suppressions or .finding_groups.
# A policy that leaves `deny` undefined or of the wrong type blocks: Bastion fails closed.
package bastion.gate

import data.bastion.lib
import rego.v1

# One entry per rule below, naming every finding it covers by fingerprint (Bastion shows
# each finding's severity, rule and place). Array comprehensions, not one set entry per
# finding: rego-cpp 1.5.2 fills sets of objects in quadratic time. The helpers of
# bastion.lib take a group as they take a finding (both have new and suppressed).

# Any new, unsuppressed critical or high finding blocks.
severe := [fingerprint |
	some g in input.finding_groups
	lib.actionable(g)
	g.severity in {"critical", "high"}
	some fingerprint in g.fingerprints
]

deny contains {
	"msg": sprintf("%d new critical or high finding(s): fix them or suppress them with a reason", [count(severe)]),
	"fingerprints": severe,
} if count(severe) > 0

# Any unsuppressed secret blocks, even one already in the baseline: a secret that was
# committed before is still exposed until it is rotated (then suppress it with a reason).
secrets := [fingerprint |
	some g in input.finding_groups
	lib.unsuppressed(g)
	g.gate == "secrets"
	some fingerprint in g.fingerprints
]

deny contains {
	"msg": sprintf("%d secret(s) in the code: rotate each, then remove it or suppress it", [count(secrets)]),
	"fingerprints": secrets,
} if count(secrets) > 0

# Any new, unsuppressed finding of unknown severity blocks: no record gave a score or a
# rating, and a missing severity must not pass as a harmless one (fail closed). To relax
# it, set in a user policy:
#   package bastion.config
#   block_unknown_severity := false
unknown_severity := [fingerprint |
	some g in input.finding_groups
	lib.actionable(g)
	g.severity == "unknown"
	some fingerprint in g.fingerprints
]

deny contains {
	"msg": sprintf("%d new finding(s) of severity unknown (no CVSS score or rating in any record): judge and fix or suppress them, or set bastion.config.block_unknown_severity := false", [count(unknown_severity)]),
	"fingerprints": unknown_severity,
} if {
	count(unknown_severity) > 0
	not data.bastion.config.block_unknown_severity == false
}

warn contains {
	"msg": sprintf("%d new finding(s) of severity unknown (not blocking: bastion.config.block_unknown_severity is false)", [count(unknown_severity)]),
	"fingerprints": unknown_severity,
} if {
	count(unknown_severity) > 0
	data.bastion.config.block_unknown_severity == false
}

# New medium findings are reported but do not block.
medium := [fingerprint |
	some g in input.finding_groups
	lib.actionable(g)
	g.severity == "medium"
	some fingerprint in g.fingerprints
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
