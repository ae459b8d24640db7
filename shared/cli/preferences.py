"""`preferences show`: a record's marketing preferences in an email account, as the
Marketing Preferences tab of its form shows them, filtered like it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, console, emit
from shared.service import preferences
from shared.service.preferences import PreferenceFilter, PreferenceLine

preferences_app = typer.Typer(
    help="Marketing preferences of contacts, leads and accounts.", no_args_is_help=True
)


def _table(lines: list[PreferenceLine], title: str) -> Table:
    table = views.new_table(views.name("Record"), "Email", "Category", "Preference",
                            "Private name", "Visibility", "Status", "Last modified",
                            title=title)  # fmt: skip
    for line in lines:
        when = line.last_modified.strftime("%Y-%m-%d %H:%M") if line.last_modified else ""
        table.add_row(line.record, line.email, line.category, line.preference,
                      line.private_name, "Public" if line.public else "Private",
                      "Opted in" if line.opted_in else "Opted out", when)  # fmt: skip
    return table


@preferences_app.command("show")
def show(
    account: Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")],
    record: Annotated[
        str, typer.Argument(help="contact:<id>, lead:<id>, account:<id>, or an email address.")
    ],
    filter: Annotated[
        PreferenceFilter, typer.Option("--filter", help="Which preferences to list.")
    ] = PreferenceFilter.ALL,
    output: OutputOption = Output.TABLE,
) -> None:
    """A record's marketing preferences in an email account: all, opted in, opted out,
    private or public."""
    lines = preferences.record_preferences_of(environment.runtime(), account, record, filter)
    if not lines and output is Output.TABLE:
        console().print(f"No {filter.value} marketing preferences for {record} in {account}.")
        return
    title = f"Marketing preferences ({filter.value}): {record} in {account}"
    emit(output, lines, lambda: _table(lines, title))
