"""Provisioning an account writes a schedule row for every sync type (what the CLI shows is what
Storage Explorer shows), and running it again (a second `make demo`) creates only what is
missing: it never undoes an operator's change."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from azure.data.tables import UpdateMode

from shared.accounts import AdobeConnection, EmailAccount, Platform
from shared.cli import demo
from shared.messaging.contract import Trigger
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec, SyncWindow
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import take_queued

EVERY_5 = ScheduleSpec(interval=Interval.MINUTES_5)
ACME = EmailAccount(account_id="acme", name="Acme marketing")


def _rows(runtime: Runtime, account_id: str = "acme") -> dict[str, dict[str, Any]]:
    table = runtime.tables.client("SyncSchedules")
    rows = table.query_entities("PartitionKey eq @pk", parameters={"pk": account_id})
    return {row["RowKey"]: {**row, "etag": row.metadata["etag"]} for row in rows}


def test_an_adobe_account_gets_no_dotdigital_data_mappings(runtime: Runtime) -> None:
    # The default mappings are to Dotdigital contact data fields; an Adobe account maps fields
    # its own way (issue 14), so it starts with none.
    globex = EmailAccount(
        account_id="globex", name="Globex", platform=Platform.ADOBE_CAMPAIGN,
        adobe=AdobeConnection(organization="globexorg", client_id="globex-client",
                              client_secret_name="GLOBEX_ACS_SECRET", scopes="campaign_sdk"),
    )  # fmt: skip

    admin.provision_account(runtime, globex)
    admin.provision_account(runtime, ACME)

    assert runtime.mappings.for_account("globex") == []
    assert runtime.mappings.for_account("acme") != []


def test_every_sync_type_gets_its_row_manual_unless_given(
    runtime: Runtime, clock: ManualClock
) -> None:
    admin.provision_account(runtime, ACME, {SyncType.DATA_LABELS: EVERY_5})

    rows = _rows(runtime)

    assert set(rows) == {t.value for t in catalogue().sync_types(Platform.DOTDIGITAL)}
    assert rows["DataLabels"]["Interval"] == "5 minutes"
    assert rows["DataLabels"]["NextSyncUtc"] > clock.now
    manual = [row for key, row in rows.items() if key != "DataLabels"]
    assert {row["Interval"] for row in manual} == {"Manual Sync Only"}
    assert all("NextSyncUtc" not in row and "Run_DueKey" not in row for row in manual)
    shown = runtime.schedules.for_account("acme", catalogue().sync_types(Platform.DOTDIGITAL))
    assert all(record.etag is not None for record in shown)  # every one stored, none invented
    assert [r.sync_type for r in runtime.schedules.due(clock.advance(minutes=5))] == [
        SyncType.DATA_LABELS
    ]


def test_provisioning_again_never_undoes_an_operators_changes(
    runtime: Runtime, clock: ManualClock
) -> None:
    given = dict.fromkeys((SyncType.DATA_LABELS, SyncType.CRM_METADATA), EVERY_5)
    admin.provision_account(runtime, ACME, given, first_run=clock.now)
    # The operator: an interval and window, a start date and time, a hand edit, the account.
    night = ScheduleSpec(interval=Interval.HOURS_4, window=SyncWindow.parse("mon-fri 18:00-08:00"))
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, night)
    admin.set_once_a_day_start(
        runtime, "acme", SyncType.CRM_METADATA, date(2026, 12, 1), time(7, 30)
    )
    table = runtime.tables.client("SyncSchedules")
    edited = dict(table.get_entity("acme", "ContactOptIn"))
    table.update_entity({**edited, "Interval": "every fortnight"}, mode=UpdateMode.REPLACE)
    runtime.accounts.save(ACME.model_copy(update={"name": "Acme (paused)", "disabled": True}))
    before = _rows(runtime)
    clock.advance(hours=1)

    admin.provision_account(runtime, ACME, given, first_run=clock.now)  # a second `make demo`

    assert _rows(runtime) == before  # not one row written again (same ETags)
    labels = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    assert labels.spec == night
    crm = runtime.schedules.get("acme", SyncType.CRM_METADATA)
    assert crm.spec.interval is Interval.ONCE_A_DAY and crm.next_sync is not None
    assert (crm.next_sync.date(), crm.next_sync.time()) == (date(2026, 12, 1), time(7, 30))
    account = runtime.accounts.get("acme")
    assert account is not None and account.name == "Acme (paused)" and account.disabled


def test_provisioning_again_adds_the_rows_that_are_missing(runtime: Runtime) -> None:
    admin.provision_account(runtime, ACME)
    runtime.tables.client("SyncSchedules").delete_entity("acme", "Forms")
    before = _rows(runtime)

    admin.provision_account(runtime, ACME, {SyncType.FORMS: EVERY_5})

    after = _rows(runtime)
    assert after["Forms"]["Interval"] == "5 minutes"
    assert {k: v for k, v in after.items() if k != "Forms"} == before


def test_a_second_demo_keeps_the_schedules_and_runs_the_demo_types_now(
    runtime: Runtime, clock: ManualClock
) -> None:
    demo._provision(runtime, "apiuser-demo@example.invalid")
    take_queued(runtime)  # the first demo's runs are started by the scheduler's first tick
    hourly = ScheduleSpec(interval=Interval.HOURS_1)
    admin.set_schedule(runtime, demo.ACCOUNT_ID, SyncType.DATA_LABELS, hourly)
    clock.advance(minutes=2)

    demo._provision(runtime, "apiuser-demo@example.invalid")

    assert runtime.schedules.get(demo.ACCOUNT_ID, SyncType.DATA_LABELS).spec == hourly
    queued = take_queued(runtime)
    assert sorted(m.sync_type for m in queued) == sorted(demo.DEMO_TYPES)
    assert {m.trigger for m in queued} == {Trigger.MANUAL}
    for sync_type in demo.DEMO_TYPES:
        record = runtime.schedules.get(demo.ACCOUNT_ID, sync_type)
        assert record.status is ScheduleStatus.QUEUED
