# With default.rego beside it: Bastion's default rules as they were before
# input.finding_groups (one pass over input.findings per rule). test_input_document.py checks
# that the grouped default decides the same.
package bastion.config

replace_default := true
