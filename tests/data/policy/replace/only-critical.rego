# Replaces Bastion's default: only critical findings block.
package bastion.config

replace_default := true
