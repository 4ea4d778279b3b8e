package bastion.config

replace_default := true
