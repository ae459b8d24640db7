"""How the CLI reports a failed command: one line on stderr, the exit code of its category.

Never a traceback: a product error prints its own message; pydantic's and the Azure SDK's
errors are cut to one line; anything else is named as unexpected.
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from shared.errors import HANDLING, Category, SyncError, category_of


def one_line(error: BaseException) -> str:
    """The line the CLI prints for `error` (without the leading "Error: ")."""
    if isinstance(error, SyncError):
        text = str(error)
    elif isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'value'}: {e['msg']}"
            for e in error.errors()
        )
        text = f"Invalid {error.title}: {problems}"
    else:
        # The Azure SDK's messages run on with request ids and bodies: keep the first line.
        first = next((line for line in str(error).splitlines() if line.strip()), "")
        text = f"unexpected {type(error).__name__}" + (f": {first}" if first else "")
    return " ".join(text.split()) or type(error).__name__


def category(error: BaseException) -> Category:
    # Pydantic refused a value the operator typed (a label name, a field name): bad input.
    return Category.BAD_INPUT if isinstance(error, ValidationError) else category_of(error)


class OneLineErrors(TyperGroup):
    """The root command group: turns any error escaping a command into one line and an exit."""

    def invoke(self, ctx: Any) -> Any:  # typer's (vendored click) Context, not public
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own: usage errors, --help, Ctrl+C, a command's typer.Exit
        except Exception as error:
            typer.secho(f"Error: {one_line(error)}", fg="red", err=True)
            raise typer.Exit(code=HANDLING[category(error)].exit_code) from error
