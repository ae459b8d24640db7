"""The operator CLI: `python -m shared --help`."""
