"""`suppressions list | resubscribe`: the Email Suppressions screen and its Request Resubscribe."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, console, print_json
from shared.service import suppressions
from shared.service.suppressions import SuppressionView

suppressions_app = typer.Typer(
    help="Email suppressions (kept in Dynamics by SuppressionLists).", no_args_is_help=True
)
AccountArg = Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")]


def _table(rows: list[SuppressionView], title: str) -> Table:
    table = views.new_table(views.name("Id"), "Email", "Reason", "Suppressed on (UTC)",
                            "Regarding", "Source", "Resubscribe", "Resubscription status",
                            title=title)  # fmt: skip
    for s in rows:
        when = s.suppressed_on.strftime("%Y-%m-%d %H:%M") if s.suppressed_on else ""
        requested = "Requested" if s.resubscribe_requested else ""
        table.add_row(s.id, s.email, s.reason, when, s.regarding, s.source, requested,
                      s.resubscription_status)  # fmt: skip
    return table


@suppressions_app.command("list")
def suppressions_list(
    account: AccountArg,
    email: Annotated[str | None, typer.Option(help="Only this email address.")] = None,
    limit: Annotated[int, typer.Option(help="Rows per page.", min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option(help="Continue from a previous page.")] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List the account's email suppressions, one page at a time."""
    page = suppressions.list_suppressions(
        environment.runtime(), account, email=email, limit=limit, cursor=cursor
    )
    if output is Output.JSON:
        print_json(page)
        return
    out = console()
    if not page.suppressions:
        out.print(f"No email suppressions in {account}" + (f" for {email}." if email else "."))
        return
    out.print(_table(page.suppressions, f"Email suppressions: {account}"))
    if page.next_cursor:
        more = f"More: `suppressions list {account} --cursor {page.next_cursor}`"
        out.print(more, soft_wrap=True)  # one line, to copy whole


@suppressions_app.command("resubscribe")
def suppressions_resubscribe(
    account: AccountArg,
    suppression: Annotated[str, typer.Argument(help="The suppression's id (see the list).")],
) -> None:
    """Request Resubscribe: the next SuppressionLists run asks the platform (it may email the
    contact a confirmation) and records the outcome on the row."""
    console().print(
        suppressions.request_resubscribe(environment.runtime(), account, suppression).message
    )
