"""`python -m shared`: the operator CLI."""

from shared.cli.app import app

app(prog_name="python -m shared")
