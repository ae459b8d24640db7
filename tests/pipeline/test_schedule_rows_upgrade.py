"""A `SyncSchedules` table written by the version before the `Run_` columns survives the
upgrade: its rows (run state without the prefix, unset dates as "") load, run, and are
rewritten in the new shape by their next save."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.messaging.contract import SyncRequest, Trigger
from shared.pipeline.scheduler import Scheduler
from shared.runtime import Runtime
from shared.storage.due_index import DueIndex
from shared.storage.schedules_repo import ScheduleStatus, due_key
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import take_queued

LEGACY = {
    "RunId", "RunTrigger", "RunSequence", "RunStartedUtc", "AuditRowKey", "QueuedUtc",
    "LeaseOwner", "LeaseUntilUtc", "DueUtc", "DueKey",
}  # fmt: skip


def _old_row(runtime: Runtime, sync_type: SyncType, *, due: datetime, **run: Any) -> dict[str, Any]:
    """Write the row exactly as the previous version did (and its due-index row)."""
    key = due_key(due, "acme", sync_type)
    row: dict[str, Any] = {
        "PartitionKey": "acme",
        "RowKey": sync_type.value,
        "Interval": "5 minutes",
        "SyncWindow": "Any time",
        "WindowKind": "Any time",
        "WindowDays": "",
        "WindowStartUtc": "",
        "WindowEndUtc": "",
        "SpecificTimeUtc": "",
        "Status": "None",
        "LastSyncUtc": "",
        "NextSyncUtc": due,
        "LastStatus": "",
        "LastMessage": "",
        "RunId": "",
        "RunTrigger": "",
        "RunSequence": 0,
        "RunStartedUtc": "",
        "AuditRowKey": "",
        "QueuedUtc": "",
        "LeaseOwner": "",
        "LeaseUntilUtc": "",
        "DueUtc": due,
        "DueKey": key,
        **run,
    }
    runtime.tables.client("SyncSchedules").create_entity(row)
    DueIndex(runtime.tables.client("SyncDue")).put(key, "acme", sync_type)
    return row


def _stored(runtime: Runtime, sync_type: SyncType) -> dict[str, Any]:
    return dict(runtime.tables.client("SyncSchedules").get_entity("acme", sync_type.value))


def test_an_old_row_loads_with_its_blank_dates_unset(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    _old_row(runtime, SyncType.DATA_LABELS, due=clock.now + timedelta(minutes=5))

    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)

    assert record.problems == ()
    assert record.last_sync is None and record.run_started is None and record.queued_at is None
    assert record.next_sync == record.due_at == clock.now + timedelta(minutes=5)
    assert record.due_key.endswith("_acme_DataLabels")


def test_an_old_row_that_falls_due_is_enqueued_and_rewritten_with_run_columns(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    _old_row(runtime, SyncType.DATA_LABELS, due=clock.now)
    clock.advance(minutes=1)

    report = Scheduler(runtime).tick()

    assert [(r.account_id, r.sync_type) for r in report.enqueued] == [
        ("acme", SyncType.DATA_LABELS)
    ]
    [message] = take_queued(runtime)
    row = _stored(runtime, SyncType.DATA_LABELS)
    assert LEGACY.isdisjoint(row)
    assert row["Status"] == "Added to Queue" and row["Run_Id"] == message.run_id
    assert "LastSyncUtc" not in row
    assert Scheduler(runtime).tick().enqueued == []  # once: the old index row is gone


def test_a_run_queued_before_the_upgrade_is_finished_by_the_new_worker(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock
) -> None:
    timeout = timedelta(seconds=sync_runtime.settings.queued_timeout_seconds)
    _old_row(
        sync_runtime, SyncType.CRM_METADATA, due=clock.now + timeout,
        Status="Added to Queue", RunId="run-before-upgrade", RunTrigger="Scheduled",
        RunSequence=2, QueuedUtc=clock.now,
    )  # fmt: skip
    sync_runtime.queue.send([SyncRequest(
        account_id="acme", sync_type=SyncType.CRM_METADATA, run_id="run-before-upgrade",
        trigger=Trigger.SCHEDULED, sequence=2, enqueued_utc=clock.now,
    )])  # fmt: skip

    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=SyncType.CRM_METADATA)
    assert audit.run_id == "run-before-upgrade" and audit.status is AuditStatus.COMPLETED
    record = sync_runtime.schedules.get("acme", SyncType.CRM_METADATA)
    assert record.status is ScheduleStatus.NONE and record.last_status == "Completed"
    row = _stored(sync_runtime, SyncType.CRM_METADATA)
    assert LEGACY.isdisjoint(row) and isinstance(row["LastSyncUtc"], datetime)
