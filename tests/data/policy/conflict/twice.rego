package bastion.gate

import rego.v1

level := "high"
level := "low"
