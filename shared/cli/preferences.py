"""`preferences show`: a record's marketing preferences in an email account, as the
Marketing Preferences tab of its form shows them, filtered like it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shared.cli import environment
from shared.runtime import Runtime, get_runtime
from shared.service import preferences
from shared.service.preferences import PreferenceFilter, PreferenceLine

console = Console()
preferences_app = typer.Typer(
    help="Marketing preferences of contacts, leads and accounts.", no_args_is_help=True
)


def _table(lines: list[PreferenceLine], title: str) -> Table:
    table = Table("Record", "Email", "Category", "Preference", "Private name", "Visibility",
                  "Status", "Last modified", title=title)  # fmt: skip
    for line in lines:
        when = line.last_modified.strftime("%Y-%m-%d %H:%M") if line.last_modified else ""
        table.add_row(line.record, line.email, line.category, line.preference,
                      line.private_name, "Public" if line.public else "Private",
                      "Opted in" if line.opted_in else "Opted out", when)  # fmt: skip
    return table


def _runtime() -> Runtime:
    environment.load_local_settings()
    return get_runtime()


@preferences_app.command("show")
def show(
    account: Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")],
    record: Annotated[
        str, typer.Argument(help="contact:<id>, lead:<id>, account:<id>, or an email address.")
    ],
    filter: Annotated[
        PreferenceFilter, typer.Option("--filter", help="Which preferences to list.")
    ] = PreferenceFilter.ALL,
) -> None:
    """A record's marketing preferences in an email account: all, opted in, opted out,
    private or public."""
    lines = preferences.record_preferences_of(_runtime(), account, record, filter)
    if not lines:
        console.print(f"No {filter.value} marketing preferences for {record} in {account}.")
        return
    console.print(_table(lines, f"Marketing preferences ({filter.value}): {record} in {account}"))
