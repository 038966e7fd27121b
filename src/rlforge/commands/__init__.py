"""The built-in commands, added to the CLI through the register_commands hook."""
