"""Operator commands. They use the same Table Storage and queue as the functions.

A failed command prints one line (`Error: ...`) and exits with its error's category code
(`shared.errors.HANDLING`); see `shared/cli/errors.py`."""

from __future__ import annotations

import shlex
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table

from shared.cli import environment, views
from shared.cli.accounts import accounts_app
from shared.cli.adobe import adobe_app
from shared.cli.dataverse import dataverse_app
from shared.cli.dead_letters import dead_letters_app
from shared.cli.environment import load_local_settings
from shared.cli.errors import OneLineErrors
from shared.cli.failed_records import failed_app
from shared.cli.output import Output, OutputOption, console, emit
from shared.cli.preferences import preferences_app
from shared.cli.programs import programs_app, users_app
from shared.cli.reconcile import reconcile_command
from shared.cli.suppressions import suppressions_app
from shared.cli.timeline import timeline_app
from shared.cli.values import day, utc_moment
from shared.cli.webhooks import webhooks_app
from shared.errors import HANDLING, Category
from shared.mappings.model import DataMapping, MappedEntity, MappingDirection
from shared.runtime import Runtime, get_runtime
from shared.scheduling import Interval
from shared.service import audit as audit_service
from shared.service import labels, mappings, schedules
from shared.storage.data_labels_repo import DataLabel, LabelType
from shared.sync_types import SyncType

app = typer.Typer(
    help=(
        "Dynamics Marketing Sync operator CLI. Settings (--settings): environment variables "
        "first, then the running `make demo`'s Azurite, else ./local.settings.json, else "
        "Azurite on its default ports."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
schedule_app = typer.Typer(help="Show and set sync schedules.", no_args_is_help=True)
mappings_app = typer.Typer(help="Data mappings between CRM fields and data labels.",
                           no_args_is_help=True)  # fmt: skip
labels_app = typer.Typer(help="Email data labels (Dotdigital contact data fields).",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(accounts_app, name="accounts")
app.add_typer(schedule_app, name="schedule")
app.add_typer(labels_app, name="labels")
app.add_typer(mappings_app, name="mappings")
app.add_typer(dataverse_app, name="dataverse")
app.add_typer(preferences_app, name="preferences")
app.add_typer(suppressions_app, name="suppressions")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(failed_app, name="failed")
app.add_typer(timeline_app, name="timeline")
app.add_typer(programs_app, name="programs")
app.add_typer(users_app, name="users")
app.add_typer(adobe_app, name="adobe")
app.command("reconcile")(reconcile_command)

AccountArg = Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")]
SyncTypeArg = Annotated[SyncType, typer.Argument(help="Sync type, as the audit names it.")]


def _runtime() -> Runtime:
    load_local_settings()
    return get_runtime()


@app.callback()
def main(
    settings: Annotated[str, typer.Option("--settings", metavar="demo|env|PATH",
                                          help=environment.HELP)] = environment.AUTO,
) -> None:  # fmt: skip
    """Dynamics Marketing Sync operator CLI."""
    environment.choose(settings)


@schedule_app.command("show")
def schedule_show(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """Show every sync type's interval, window, status, last and next sync."""
    found = schedules.show(_runtime(), account)
    emit(output, found, lambda: views.schedules_table(found, f"Schedules: {account}"))


@schedule_app.command("set")
def schedule_set(
    account: AccountArg,
    sync_type: SyncTypeArg,
    interval: Annotated[Interval, typer.Option(help="How often the sync runs.")],
    window: Annotated[
        str,
        typer.Option(help='"any", "mon-fri 18:00-08:00", "mon,wed 09:00-17:00" or "specific 07:30" '
                     "(UTC; specific time only with Once a day)."),
    ] = "any",
) -> None:  # fmt: skip
    """Set a sync type's interval and sync window."""
    change = schedules.ScheduleChange(interval=interval, window=window)
    result = schedules.set_schedule(_runtime(), account, sync_type, change)
    out = console()
    out.print(f"{sync_type.value}: {interval.value}, {result.schedule.window}.")
    runs = ", ".join(views.when(r) for r in result.upcoming) or "manual only"
    out.print(f"Next runs (UTC): {runs}")
    out.print(f"Status: {result.schedule.status.value}")


@schedule_app.command("start")
def schedule_start(
    account: AccountArg,
    sync_type: SyncTypeArg,
    on: Annotated[date, typer.Option("--date", parser=day, metavar="YYYY-MM-DD",
                                      help="First run date.")],
    at: Annotated[str | None, typer.Option("--time", help="HH:MM UTC; omitted keeps the time "
                                           "of the current next sync.")] = None,
) -> None:  # fmt: skip
    """Once a day at a specific time: first run on --date, then daily at that time."""
    change = schedules.StartChange(date=on, time=at)
    result = schedules.set_start(_runtime(), account, sync_type, change)
    console().print(f"{sync_type.value}: once a day, next sync {views.when(result.next_sync)} UTC.")


@app.command("sync-now")
def sync_now(
    account: AccountArg,
    sync_type: SyncTypeArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and decide only: the audit "
                                          "lists what would be written; nothing is.")] = False,
) -> None:  # fmt: skip
    """Enqueue a sync at once (does nothing if one is already queued or in progress)."""
    result = schedules.sync_now(_runtime(), account, sync_type, dry_run=dry_run)
    console().print(result.message, style="green" if result.accepted else "yellow")
    if not result.accepted:  # already queued or running: a conflict with the schedule's state
        raise typer.Exit(code=HANDLING[Category.CONFLICT].exit_code)


@app.command("audit")
def audit(
    account: AccountArg,
    sync_type: Annotated[SyncType | None, typer.Option(help="Only this sync type.")] = None,
    since: Annotated[datetime | None, typer.Option(
        parser=utc_moment, metavar="WHEN", help="Only runs started at or after this UTC "
        "time, e.g. 2026-11-20T00:00 or 2026-11-20 (default: 30 days ago).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.", min=1,
                                       max=audit_service.MAX_PAGE)] = 50,
    details: Annotated[bool, typer.Option(help="Also show each run's detail rows.")] = False,
    cursor: Annotated[str | None, typer.Option(help="Continue from a previous page "
                                               "(its next_cursor).")] = None,
    output: OutputOption = Output.TABLE,
) -> None:  # fmt: skip
    """Show the sync audit of an account, newest first, a page at a time."""
    rt = _runtime()
    query = audit_service.AuditQuery(sync_type=sync_type, since=since, limit=limit, cursor=cursor)
    page = audit_service.runs(rt, account, query)
    # With details, each run as the service's AuditRun (the run and its detail rows).
    runs = [audit_service.run(rt, account, r.row_key) for r in page.runs] if details else []
    result = {"runs": runs, "next_cursor": page.next_cursor} if details else page
    emit(output, result, lambda: _audit_tables(account, page, runs))
    if page.next_cursor and output is Output.TABLE:  # the same command, from the next page on
        words = ["audit", account, "--cursor", page.next_cursor, "--limit", str(limit)]
        words += ["--sync-type", sync_type.value] if sync_type else []
        words += ["--since", since.isoformat()] if since else []
        words += ["--details"] if details else []
        console().print(f"More: `{shlex.join(words)}`", soft_wrap=True)  # one line, to copy


def _audit_tables(
    account: str, page: audit_service.AuditPage, runs: list[audit_service.AuditRun]
) -> Group:
    tables: list[Table] = [views.audit_table(page.runs, f"Sync audit: {account}")]
    for found in runs:
        if found.details:
            title = f"{found.run.sync_type} {views.when(found.run.started)}"
            tables.append(views.details_table(found.details, title))
    return Group(*tables)


@labels_app.command("list")
def labels_list(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """List the account's email data labels."""
    found = labels.list_labels(_runtime(), account)
    emit(output, found, lambda: views.labels_table(found, f"Data labels: {account}"))


@labels_app.command("add")
def labels_add(
    account: AccountArg,
    name: Annotated[str, typer.Argument(help="Label name, unique in the account.")],
    label_type: Annotated[LabelType, typer.Option("--type")] = LabelType.STRING,
    default: Annotated[str | None, typer.Option(help="Used when the CRM value is empty.")] = None,
    description: Annotated[str, typer.Option(help="What the label is for.")] = "",
    public: Annotated[bool, typer.Option(help="Create it Public (default Private).")] = False,
) -> None:
    """Create a data label; the next DataLabels sync creates it in Dotdigital."""
    label = DataLabel(name=name, type=label_type, default_value=default,
                      description=description, is_private=not public)  # fmt: skip
    saved = labels.add_label(_runtime(), account, label)
    console().print(
        f"Label {saved.name} saved; it is created in Dotdigital at the next DataLabels sync."
    )


@labels_app.command("delete")
def labels_delete(
    account: AccountArg,
    name: Annotated[str, typer.Argument(help="Label name (see `labels list`).")],
) -> None:
    """Delete a data label from the connector (never from Dotdigital); refused while a mapping
    uses it."""
    console().print(labels.delete_label(_runtime(), account, name).message)


@mappings_app.command("list")
def mappings_list(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """List the account's data mappings."""
    found = mappings.list_mappings(_runtime(), account)
    emit(output, found, lambda: views.mappings_table(found, f"Data mappings: {account}"))


@mappings_app.command("add")
def mappings_add(
    account: AccountArg,
    label: Annotated[str, typer.Argument(help="Data label name (EMAIL for the address).")],
    entity: Annotated[MappedEntity, typer.Option(help="contact, lead or account.")],
    field: Annotated[str, typer.Option(help="Primary CRM field (logical name).")],
    linked_entity: Annotated[str | None, typer.Option(help="Entity the lookup points to.")] = None,
    linked_field: Annotated[str | None, typer.Option(help="Field of the linked record.")] = None,
    direction: Annotated[MappingDirection, typer.Option()] = MappingDirection.TO_PLATFORM,
) -> None:
    """Map a CRM field to a data label; checked against the stored CRM metadata."""
    mapping = DataMapping(label=label, entity=entity, primary_field=field,
                          linked_entity=linked_entity, linked_field=linked_field,
                          direction=direction)  # fmt: skip
    saved = mappings.add_mapping(_runtime(), account, mapping)
    console().print(f"Saved {saved.describe}; it applies from the next sync.")


@mappings_app.command("delete")
def mappings_delete(
    account: AccountArg,
    label: Annotated[str, typer.Argument(help="Data label of the mapping.")],
    entity: Annotated[MappedEntity, typer.Option(help="contact, lead or account.")],
) -> None:
    """Delete a data mapping; the next sync no longer applies it."""
    console().print(mappings.delete_mapping(_runtime(), account, label, entity).message)


@app.command("host")
def host(
    http_port: Annotated[int, typer.Option(help="Port of the HTTP functions (Core Tools' 7071); "
                                           "0 picks a free one.", min=0, max=65535)] = 7071,
) -> None:  # fmt: skip
    """Run the local Functions host (timers, the queue worker, HTTP functions) until Ctrl+C."""
    from shared.localhost.run import run_host

    load_local_settings()
    run_host(console(), http_port=http_port)


@app.command("demo")
def demo(
    exit_after_audit: Annotated[bool, typer.Option(help="Stop once the audit is printed "
                                                   "instead of keeping Azurite running.")] = False,
) -> None:  # fmt: skip
    """Start Azurite and the sandboxes, provision a demo account, run its scheduled syncs."""
    from shared.cli.demo import run_demo

    run_demo(console(), keep_running=not exit_after_audit)
