"""The operator CLI (`python -m shared --help`) and its `demo` command: dev tooling only."""
