package configs

func validate(c *Config, d *decoder) {}
