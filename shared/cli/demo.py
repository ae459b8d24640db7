"""`make demo`: Azurite, the sandboxes and the local host, a demo account, its first syncs, and
what they brought into Dynamics (the people, Ada's engagement timeline); beside it an Adobe
Campaign account against the ACS sandbox (`demo_adobe`)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from shared.accounts import CampaignSyncLevel, EmailAccount
from shared.audit import AuditStatus
from shared.azurite import (
    DEFAULT_PORTS,
    PROJECT_ROOT,
    AzuriteProcess,
    clear_azurite_data,
    start_azurite,
    start_azurite_preferring,
)
from shared.cli import views
from shared.cli.demo_adobe import (
    ACS_SECRET_SETTING,
    ADOBE_ACCOUNT_ID,
    adobe_finished,
    provision_adobe,
    show_adobe,
)
from shared.cli.demo_send import show_send
from shared.cli.demo_webhook import DEMO_WEBHOOK_KEY, show_webhook
from shared.cli.environment import demo_data_dir, demo_state
from shared.cli.timeline import render
from shared.dynamics_schema import EMAIL_SUPPRESSION, OPT_IN_TYPES
from shared.localhost.run import build_host
from shared.pipeline.admin import provision_account, sync_now
from shared.runtime import Runtime, install_runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.service.schedules import view
from shared.service.timeline import engagement_timeline
from shared.settings import Settings
from shared.storage.data_labels_repo import DataLabel, LabelType
from shared.sync_types import SyncType

if TYPE_CHECKING:  # the sandboxes load only when the demo runs
    from sandbox.dataverse.state import DataverseState

ACCOUNT_ID = "demo"
DEMO_TYPES = (
    SyncType.CRM_METADATA,
    SyncType.DATA_LABELS,
    SyncType.SUPPRESSION_LISTS,
    SyncType.CONTACT_OPT_IN,
    SyncType.MARKETING_LISTS_DATA_OUT,
    # Issue 13's reads: the "Demo welcome" campaign's behaviour (the account is at the Detailed
    # level), the form Ada answered, her WebInsight page views, everyone's scores.
    SyncType.CAMPAIGN_STATISTICS,
    SyncType.FORMS,
    SyncType.WEB_INSIGHT,
    SyncType.CONTACT_SCORING,
    SyncType.EMAIL_SENDS,  # nothing requested until the demo's send, after the first runs
)
PASSWORD_SETTING = "DEMO_DOTDIGITAL_PASSWORD"
WAIT_SECONDS = 180


def _provision(rt: Runtime, api_user: str) -> None:
    account = EmailAccount(
        account_id=ACCOUNT_ID,
        name="Demo newsletters",
        description="Provisioned by make demo against the local sandboxes",
        owner="Marketing operations",
        connector_key="demo-connector",
        is_default=True,
        api_user=api_user,
        api_password_secret_name=PASSWORD_SETTING,
        campaign_sync_level=CampaignSyncLevel.DETAILED,  # opens, clicks, page views too
    )
    every_5 = ScheduleSpec(interval=Interval.MINUTES_5)
    kept = [st for st in DEMO_TYPES if rt.schedules.row(ACCOUNT_ID, st) is not None]
    provision_account(rt, account, dict.fromkeys(DEMO_TYPES, every_5), first_run=rt.clock())
    # A second demo keeps the schedules as they are (an operator may have changed them) and
    # runs the demo's types now all the same, as Sync Now does.
    for sync_type in kept:
        sync_now(rt, ACCOUNT_ID, sync_type)
    for label in (
        DataLabel(name="LOYALTYTIER", default_value="Bronze", description="Loyalty scheme tier"),
        DataLabel(name="Loyalty Tier!", type=LabelType.STRING, description="Not a valid name"),
    ):
        if rt.data_labels.get(ACCOUNT_ID, label.name) is None:
            rt.data_labels.save(ACCOUNT_ID, label)


def _finished(rt: Runtime, since: datetime) -> bool:
    for sync_type in DEMO_TYPES:
        runs = rt.audit.recent(ACCOUNT_ID, sync_type=sync_type, since=since, limit=1)
        if not runs or runs[0].status is AuditStatus.IN_PROGRESS:
            return False
    return True


def _people_table(dataverse: DataverseState, ids: tuple[str, ...]) -> Table:
    """The demo's people as a CRM user sees them after the syncs."""
    from sandbox.demo_people import PEOPLE

    suppressions: dict[str, str] = {}
    table_rows = dataverse.table(EMAIL_SUPPRESSION.logical_name).rows
    for row_id in list(table_rows):
        row = dataverse.row(EMAIL_SUPPRESSION.logical_name, row_id) or {}
        for column in ("_dms_contactid_value", "_dms_leadid_value"):
            if row.get(column):
                suppressions[row[column]] = str(row.get("dms_reason") or "")
    opt_in = {option.value: option.label for option in OPT_IN_TYPES}
    table = Table(title="Demo people in Dynamics")
    for column in ("email", "table", "Do not Bulk Email", "Opt-in Type", "Email Suppression",
                   "Score"):  # fmt: skip
        table.add_column(column)
    for person, record_id in zip(PEOPLE, ids, strict=True):
        row = dataverse.row(person.table, record_id) or {}
        table.add_row(
            person.email,
            person.table,
            "Do Not Allow" if row.get("donotbulkemail") else "Allow",
            opt_in.get(row.get("dms_optintype") or 0, "-"),
            suppressions.get(record_id, "-"),
            f"{row['dms_score']} ({row.get('dms_scorelabel') or '-'})"
            if row.get("dms_score") is not None
            else "-",
        )
    return table


def _show_timeline(console: Console, rt: Runtime, contact_id: str) -> None:
    """Ada's engagement timeline as `timeline show` prints it, and that command."""
    console.print(render(engagement_timeline(rt, ACCOUNT_ID, contact_id=contact_id)))
    console.print(
        "The same, in another terminal while the demo runs: .venv/bin/python -m shared "
        f"timeline show {ACCOUNT_ID} --contact {contact_id}",
        soft_wrap=True,
    )


def _shown(path: Path) -> str:
    """The data folder as the user knows it: relative to the project when inside it."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _print_connection_string(console: Console, azurite: AzuriteProcess) -> None:
    # One line whatever the terminal's width (soft_wrap), so it can be copied whole.
    console.print(f"  {azurite.connection_string}", soft_wrap=True, markup=False, highlight=False)


def _say_where(console: Console, azurite: AzuriteProcess, *, asked_free: bool = False) -> None:
    """Which ports Azurite took, and how Storage Explorer connects to it."""
    blob, queue, table = azurite.ports
    if asked_free:
        console.print(
            f"Azurite is on free ports (DEMO_FREE_PORTS=1): blob {blob}, queue {queue}, table "
            f"{table}. Connection string:",
            soft_wrap=True,
        )
    elif azurite.ports == DEFAULT_PORTS:
        console.print(
            "Azurite is on its default ports 10000-10002: in Storage Explorer, Connect > Local "
            "storage emulator. Connection string:",
            soft_wrap=True,
        )
    else:
        console.print(
            "Ports 10000-10002 are taken (another Azurite?), so Azurite is on free ports "
            f"(blob {blob}, queue {queue}, table {table}): in Storage Explorer, Connect with "
            "this connection string:",
            soft_wrap=True,
        )
    _print_connection_string(console, azurite)


def run_demo(console: Console, *, keep_running: bool) -> None:
    from sandbox.demo_adobe import seed_demo_adobe
    from sandbox.demo_engagement import OFFERS, seed_demo_engagement
    from sandbox.demo_people import DEMO_LIST, PEOPLE, seed_demo_list, seed_demo_people
    from sandbox.launch import start_sandboxes

    data_dir = demo_data_dir()
    state_file = demo_state()
    console.print(
        f"Starting from scratch: Azurite's data in {_shown(data_dir)} is cleared and the API "
        "sandboxes start empty, so every `make demo` shows the same picture."
    )
    clear_azurite_data(data_dir)
    # DEMO_FREE_PORTS=1 (the tests): another process may hold the default ports at any time.
    if os.environ.get("DEMO_FREE_PORTS") == "1":
        azurite = start_azurite(in_memory=False, location=data_dir)
    else:
        azurite = start_azurite_preferring(DEFAULT_PORTS, location=data_dir)
    _say_where(console, azurite, asked_free=os.environ.get("DEMO_FREE_PORTS") == "1")
    sandboxes = start_sandboxes()
    people = seed_demo_people(sandboxes.dataverse, sandboxes.dotdigital)
    list_id = seed_demo_list(sandboxes.dataverse, people, ACCOUNT_ID)
    seed_demo_engagement(sandboxes.dotdigital)
    margaret = seed_demo_adobe(sandboxes.dataverse, sandboxes.adobe)
    host = None
    rt: Runtime | None = None
    try:
        shared_values = {
            "AzureWebJobsStorage": azurite.connection_string,
            "SYNC_QUEUE_BACKEND": "StorageQueue",
            "SYNC_QUEUE_NAME": "sync-requests",
        }
        os.environ.update(shared_values)
        os.environ.update(sandboxes.settings_env())
        os.environ.update(
            {
                PASSWORD_SETTING: sandboxes.credentials.api_password,
                ACS_SECRET_SETTING: sandboxes.credentials.acs_client_secret,
                "DYNAMICS_WEBHOOK_KEY": DEMO_WEBHOOK_KEY,
                # Short slices and leases so a stopped demo recovers quickly:
                # lease > budget + HTTP timeout + margin (checked at start).
                "RUN_TIME_BUDGET_SECONDS": "20",
                "HTTP_TIMEOUT_SECONDS": "20",
                "SLICE_MARGIN_SECONDS": "10",
                "RUN_LEASE_SECONDS": "60",
                "QUEUED_TIMEOUT_SECONDS": "60",
            }
        )
        # The CLI in another terminal reads this file to find Azurite and the sandboxes (for
        # `preferences show`, `accounts test`, `suppressions list`). The sandboxes' credentials
        # are their fixed demo values, accepted by nothing else.
        sandbox_values = {
            **sandboxes.settings_env(),
            PASSWORD_SETTING: sandboxes.credentials.api_password,
            ACS_SECRET_SETTING: sandboxes.credentials.acs_client_secret,
        }
        state_file.parent.mkdir(parents=True, exist_ok=True)
        values = {**shared_values, **sandbox_values}
        state = {"Values": values, "Pid": os.getpid()}  # a killed demo's file is stale
        state_file.write_text(json.dumps(state, indent=2))

        rt = Runtime(Settings())
        install_runtime(rt)
        started = rt.clock()
        _provision(rt, sandboxes.credentials.api_user)
        adobe_types = provision_adobe(rt, sandboxes)
        console.print(
            f"Provisioned email account '{ACCOUNT_ID}' (campaign statistics at the Detailed "
            f"level): {', '.join(DEMO_TYPES)} every 5 minutes, first run now; and the Adobe "
            f"Campaign account '{ADOBE_ACCOUNT_ID}': {', '.join(adobe_types) or 'no sync types'} "
            "every 5 minutes. Starting the local Functions host...",
            soft_wrap=True,
        )
        host = build_host(rt, poll_seconds=0.5)  # HTTP on a free port: the webhook's URL
        host.start(fire_timers_now=True)

        deadline = time.monotonic() + WAIT_SECONDS
        with Live(console=console, refresh_per_second=4) as live:
            while time.monotonic() < deadline:
                done = _finished(rt, started) and adobe_finished(rt, started, adobe_types)
                records = [view(rt.schedules.get(ACCOUNT_ID, st)) for st in DEMO_TYPES]
                live.update(
                    Group(
                        views.schedules_table(records, "Demo schedules (live)"),
                        Text(
                            f"messages handled: {host.stats.messages_done}, "
                            f"waiting {int(deadline - time.monotonic())} s more at most"
                        ),
                    )
                )
                if done:
                    break
                time.sleep(0.5)
        views.end_live(console)  # the audit table below starts on a line of its own
        runs = rt.audit.recent(ACCOUNT_ID, since=started)
        console.print(views.audit_table(runs, f"Sync audit: {ACCOUNT_ID}"))
        console.print(views.labels_table(rt.data_labels.for_account(ACCOUNT_ID), "Data labels"))
        fields = rt.crm_fields.for_account(ACCOUNT_ID)
        console.print(f"CrmFields table: {len(fields)} mappable CRM fields stored.")
        console.print(_people_table(sandboxes.dataverse, people))
        if not _finished(rt, started) or not adobe_finished(rt, started, adobe_types):
            console.print("[red]The demo syncs did not finish in time; see the log above.[/red]")
            raise SystemExit(1)
        if not show_send(console, rt, sandboxes.dataverse, account_id=ACCOUNT_ID,
                         campaign=OFFERS, marketing_list=(list_id, DEMO_LIST)):  # fmt: skip
            console.print("[red]The demo's email send did not end Sent; see above.[/red]")
            raise SystemExit(1)
        ada = next(i for i, p in enumerate(PEOPLE) if p.table == "contact")
        _show_timeline(console, rt, people[ada])
        if not show_webhook(
            console,
            rt,
            host,
            (sandboxes.dataverse, sandboxes.dotdigital),
            account_id=ACCOUNT_ID,
            contact=(people[ada], PEOPLE[ada].email),
            book_name=DEMO_LIST,
        ):
            console.print("[red]The webhook's change did not reach the address book in time.[/red]")
            raise SystemExit(1)
        show_adobe(console, rt, (sandboxes.dataverse, sandboxes.adobe), since=started,
                   contact_id=margaret)  # fmt: skip
        if keep_running:
            console.print(
                "\nAzurite keeps running, with the local host (timers every minute).\n"
                "Browse it in Azure Storage Explorer: "
                + (
                    "Connect > Local storage emulator, or this connection string:"
                    if azurite.ports == DEFAULT_PORTS
                    else "Connect > Storage account or service > Connection string, with this one:"
                )
            )
            _print_connection_string(console, azurite)
            console.print(
                f"Dynamics webhooks post to {host.base_url}/api/dynamics/webhook "
                f"(key: ?code={DEMO_WEBHOOK_KEY}).\n"
                f"The admin API: {host.base_url}/api/admin/accounts "
                f"(OpenAPI: {host.base_url}/api/admin/openapi.json).\n"
                f"The operator console: open {host.base_url}/api/console/accounts in a browser.\n"
                "In another terminal: .venv/bin/python -m shared audit demo\n"
                f"Press Ctrl+C to stop (the data stays in {_shown(data_dir)} until the next "
                "`make demo` clears it).",
                soft_wrap=True,
            )
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                console.print("Stopping...")
    finally:
        if host is not None:
            host.stop()
        if rt is not None:
            rt.close()
        install_runtime(None)
        sandboxes.stop()
        azurite.stop()
        state_file.unlink(missing_ok=True)
