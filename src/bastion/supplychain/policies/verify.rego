# Bastion's default deployment policy, evaluated by `bastion verify`.
# input: {"artifact": {"digest"}, "provenance": {builder_id, build_type, repository, ref,
#         commit, trust, signed, finished, gates: [{gate, decision, findings}]},
#         "sbom": {"cyclonedx": bool, "spdx": bool}, "options": {"allow_local": bool}}
package bastion.verify

import rego.v1

default allow := false

allow if count(deny) == 0

deny contains msg if {
	input.provenance.trust in {"untrusted", "internal", "dirty"}
	msg := sprintf("a %s build is never deployable", [input.provenance.trust])
}

deny contains "a local build is refused unless --allow-local is given" if {
	input.provenance.trust == "local"
	not input.options.allow_local
}

deny contains "the provenance is unsigned" if not input.provenance.signed

deny contains msg if {
	some gate in input.provenance.gates
	gate.decision != "pass"
	msg := sprintf("gate %s did not pass (%s)", [gate.gate, gate.decision])
}

deny contains "no SBOM is attached" if not input.sbom.cyclonedx

deny contains "no SPDX SBOM is attached" if not input.sbom.spdx
