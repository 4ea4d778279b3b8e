package bastion.gate

deny[msg] {
	msg := "written in Rego v0"
}
