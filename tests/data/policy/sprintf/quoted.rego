# rego-cpp 1.5.2 quotes computed strings in sprintf %s; the decision must still be readable.
package bastion.gate

import rego.v1

deny contains sprintf("repo %s is frozen", [upper("demo")]) if input.context.repo == "demo"
