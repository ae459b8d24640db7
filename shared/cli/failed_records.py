"""`failed list | retry`: the records a run could not sync, and a run for just those records
(shared/service/failed_records.py decides what can be retried and how)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, console, print_json
from shared.service import failed_records as service
from shared.service.failed_records import FailedRun
from shared.sync_types import SyncType

failed_app = typer.Typer(
    help="Records the newest runs could not sync (from the audit details), and their retry.",
    no_args_is_help=True,
)
AccountArg = Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")]
SyncTypeOption = Annotated[SyncType | None, typer.Option(help="Only this sync type.")]
RunOption = Annotated[
    str | None,
    typer.Option("--run", help="This run (its run id, as `failed list` shows), not the newest."),
]


def _table(run: FailedRun) -> Table:
    started = run.started.strftime("%Y-%m-%d %H:%M:%S")
    title = (f"{run.sync_type} run {run.run_id} ({run.trigger}, {started} UTC): "
             f"{run.status.value}, {run.failed} failed")  # fmt: skip
    table = views.new_table(views.name("Item"), "Record", "Reason", title=title)
    table.caption = run.retry
    for record in run.records:
        table.add_row(record.item, record.key or "(the whole item)", record.reason)
    return table


@failed_app.command("list")
def failed_list(
    account: AccountArg,
    sync_type: SyncTypeOption = None,
    run: RunOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List the failed records of each sync type's newest run (or of one run)."""
    runs = service.failed_runs(environment.runtime(), account, sync_type=sync_type, run_id=run)
    if output is Output.JSON:
        print_json(runs)
        return
    out = console()
    if not runs:
        out.print("No failed records in the newest run of any sync type.")
        return
    for found in runs:
        out.print(_table(found))


@failed_app.command("retry")
def failed_retry(
    account: AccountArg, sync_type: SyncTypeOption = None, run: RunOption = None
) -> None:
    """Sync the failed records again: a run for just those records, where the type allows."""
    answers = service.retry_failed(environment.runtime(), account, sync_type=sync_type, run_id=run)
    out = console()
    if not answers:
        out.print("No failed records in the newest run of any sync type: nothing to retry.")
        return
    for answer in answers:
        out.print(f"{answer.sync_type}: {answer.message}",
                      style="green" if answer.queued else "yellow", soft_wrap=True)  # fmt: skip
