package bastion.config

replace_default := "yes"
