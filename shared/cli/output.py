"""Where a command's result goes: rich tables on stdout (whole when stdout is a pipe or a file)
or, with `--output json`, the service's models as one JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from rich.console import Console, RenderableType

# A pipe or a file has no width: rich would cut tables to 80 columns there. This is wider than
# any row a listing prints, so a table is as wide as its content.
UNCUT_WIDTH = 10_000


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[
    Output,
    typer.Option(
        "--output",
        "-o",
        help="table, or json: the result as one JSON document on stdout (for scripts).",
        case_sensitive=False,
    ),
]


def console() -> Console:
    """A console on the current stdout: a terminal's own width, or uncut when not a terminal
    (soft wrap too, so a long line of text stays one line in a file)."""
    terminal = Console()
    if terminal.is_terminal:
        return terminal
    return Console(width=UNCUT_WIDTH, soft_wrap=True)


def jsonable(value: object) -> object:
    """Pydantic models as `model_dump(mode="json")`; the few dataclass views (webhooks,
    preferences) through pydantic's encoder, so dates and enums read the same way."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return to_jsonable_python(value)


def print_json(value: object) -> None:
    typer.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def emit(output: Output, value: object, render: Callable[[], RenderableType]) -> None:
    """The command's result: `value` as JSON, or what `render` draws from it."""
    if output is Output.JSON:
        print_json(value)
    else:
        console().print(render())
