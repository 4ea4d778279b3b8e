package bastion.gate

import rego.v1

deny contains 42 if true
