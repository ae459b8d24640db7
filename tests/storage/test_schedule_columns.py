"""What an operator sees of a schedule in Storage Explorer: the columns they read first-class,
the run's state under `Run_`, no empty strings in date columns; and what a hand edit does."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import UpdateMode

from shared.accounts import EmailAccount
from shared.pipeline import admin
from shared.pipeline.scheduler import Scheduler
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.storage.schedules_repo import InvalidSchedule, ScheduleStatus
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import take_queued

EVERY_5 = ScheduleSpec(interval=Interval.MINUTES_5)
OPERATOR_COLUMNS = {
    "Interval", "SyncWindow", "WindowKind", "WindowDays", "WindowStartUtc", "WindowEndUtc",
    "SpecificTimeUtc", "Status", "LastSyncUtc", "NextSyncUtc", "LastStatus", "LastMessage",
}  # fmt: skip
TIME_OF_DAY = {"WindowStartUtc", "WindowEndUtc", "SpecificTimeUtc"}  # "HH:MM" text by design


def _row(runtime: Runtime, sync_type: SyncType = SyncType.DATA_LABELS) -> dict[str, Any]:
    row = runtime.tables.client("SyncSchedules").get_entity("acme", sync_type.value)
    return {k: v for k, v in row.items() if k not in ("PartitionKey", "RowKey")}


def _edit(runtime: Runtime, sync_type: SyncType, **columns: Any) -> None:
    """What Storage Explorer does: the row replaced, a column set to None is removed."""
    table = runtime.tables.client("SyncSchedules")
    entity = dict(table.get_entity("acme", sync_type.value))
    for name, value in columns.items():
        if value is None:
            entity.pop(name, None)
        else:
            entity[name] = value
    table.update_entity(entity, mode=UpdateMode.REPLACE)


def _assert_dates_are_dates(row: dict[str, Any]) -> None:
    for name, value in row.items():
        if name.endswith("Utc") and name not in TIME_OF_DAY:
            assert isinstance(value, datetime), (name, value)


def test_a_schedule_at_rest_shows_the_operator_columns_and_when_it_is_due(
    runtime: Runtime, account: EmailAccount
) -> None:
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)

    row = _row(runtime)

    # Never run: no LastSyncUtc at all (not ""), and no run state beyond the due index's.
    assert set(row) == (OPERATOR_COLUMNS - {"LastSyncUtc"}) | {"Run_DueUtc", "Run_DueKey"}
    assert row["Interval"] == "5 minutes" and row["Status"] == "None"
    _assert_dates_are_dates(row)


def test_a_run_keeps_its_state_under_the_run_prefix(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)
    clock.advance(minutes=5)
    Scheduler(runtime).tick()
    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    record.status = ScheduleStatus.IN_PROGRESS  # what a worker's claim leaves behind
    record.run_started = clock.now
    record.audit_row_key = "key"
    record.lease_owner = "worker-1"
    record.lease_until = record.due_at = clock.now + timedelta(minutes=5)
    runtime.schedules.save(record)

    row = _row(runtime)

    internal = set(row) - OPERATOR_COLUMNS
    assert internal == {
        "Run_Id", "Run_Trigger", "Run_Sequence", "Run_StartedUtc", "Run_AuditRowKey",
        "Run_QueuedUtc", "Run_LeaseOwner", "Run_LeaseUntilUtc", "Run_DueUtc", "Run_DueKey",
    }  # fmt: skip
    assert row["Status"] == "Synchronising In Progress"
    assert row["Run_Id"] == record.run_id and row["Run_LeaseOwner"] == "worker-1"
    _assert_dates_are_dates(row)


def test_a_freed_run_leaves_no_run_columns_and_no_blank_dates(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    admin.sync_now(runtime, "acme", SyncType.DATA_LABELS)
    take_queued(runtime)
    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    record.status = ScheduleStatus.NONE
    record.run_id = ""
    record.queued_at = None
    record.last_sync = clock.now
    record.last_status = "Completed"
    runtime.schedules.save(record)

    row = _row(runtime)

    assert "Run_Id" not in row and "Run_QueuedUtc" not in row and "Run_Sequence" not in row
    assert row["LastSyncUtc"] == clock.now and row["LastStatus"] == "Completed"
    _assert_dates_are_dates(row)


@pytest.mark.parametrize("cleared", ["", "   ", None], ids=["blank", "spaces", "removed"])
@pytest.mark.parametrize("column", ["LastSyncUtc", "NextSyncUtc", "Run_QueuedUtc", "Status"])
def test_a_cleared_cell_or_removed_column_reads_as_unset(
    runtime: Runtime, account: EmailAccount, column: str, cleared: str | None
) -> None:
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)
    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    record.last_sync = record.next_sync
    runtime.schedules.save(record)

    _edit(runtime, SyncType.DATA_LABELS, **{column: cleared})
    again = runtime.schedules.get("acme", SyncType.DATA_LABELS)  # no InvalidSchedule

    assert again.problems == ()
    unset = {
        "LastSyncUtc": again.last_sync,
        "NextSyncUtc": again.next_sync,
        "Run_QueuedUtc": again.queued_at,
        "Status": again.status,
    }[column]
    assert unset in (None, ScheduleStatus.NONE)


def test_a_removed_interval_column_is_manual_sync_only(
    runtime: Runtime, account: EmailAccount
) -> None:
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)
    _edit(runtime, SyncType.DATA_LABELS, Interval=None)

    assert runtime.schedules.get("acme", SyncType.DATA_LABELS).spec.interval is Interval.MANUAL


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        ({"Interval": "4 hrs"}, "Interval '4 hrs' is not an interval"),
        ({"LastSyncUtc": "yesterday"}, "LastSyncUtc 'yesterday' is not a date and time"),
        ({"Run_Sequence": "two"}, "Run_Sequence 'two' is not a number"),
        ({"WindowDays": "Mon,Someday"}, "WindowDays 'Mon,Someday' is not a list of days"),
    ],
)
def test_a_bad_value_typed_in_is_named_with_the_command_that_fixes_it(
    runtime: Runtime, account: EmailAccount, columns: dict[str, Any], says: str
) -> None:
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)
    _edit(runtime, SyncType.DATA_LABELS, **columns)

    with pytest.raises(InvalidSchedule) as refused:
        runtime.schedules.get("acme", SyncType.DATA_LABELS)

    message = str(refused.value)
    assert message.startswith("The schedule of DataLabels is invalid: ")
    assert says in message
    assert message.endswith("fix it with `schedule set acme DataLabels --interval ...`")
    fixed = admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)
    assert fixed.problems == () and runtime.schedules.get("acme", SyncType.DATA_LABELS)
