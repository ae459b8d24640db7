from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import ConcurrencyConflict
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec, SyncWindow
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_unsaved_schedule_is_manual_and_idle(runtime: Runtime) -> None:
    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    assert record.spec.interval is Interval.MANUAL
    assert record.status is ScheduleStatus.NONE
    assert record.etag is None
    assert len(runtime.schedules.for_account("acme")) == len(SyncType)


def test_round_trip_with_readable_columns(runtime: Runtime) -> None:
    record = runtime.schedules.get("acme", SyncType.CAMPAIGN_STATISTICS)
    record.spec = ScheduleSpec(
        interval=Interval.HOURS_4, window=SyncWindow.parse("mon-fri 18:00-08:00")
    )
    record.next_sync = NOW
    runtime.schedules.save(record)

    again = runtime.schedules.get("acme", SyncType.CAMPAIGN_STATISTICS)
    assert again.spec == record.spec
    assert again.next_sync == NOW
    row = runtime.tables.client("SyncSchedules").get_entity("acme", "CampaignStatistics")
    assert row["Interval"] == "4 hours"
    assert row["Status"] == "None"
    assert row["WindowStartUtc"] == "18:00" and row["WindowEndUtc"] == "08:00"
    assert "Monday" in row["SyncWindow"]


def test_stale_etag_is_a_concurrency_conflict(runtime: Runtime) -> None:
    runtime.schedules.save(runtime.schedules.get("acme", SyncType.DATA_LABELS))
    first = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    second = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    first.status = ScheduleStatus.QUEUED
    runtime.schedules.save(first)

    second.status = ScheduleStatus.IN_PROGRESS
    with pytest.raises(ConcurrencyConflict):
        runtime.schedules.save(second)
    assert runtime.schedules.get("acme", SyncType.DATA_LABELS).status is ScheduleStatus.QUEUED


def test_due_index_follows_the_schedule(runtime: Runtime) -> None:
    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    record.due_at = NOW + timedelta(minutes=5)
    runtime.schedules.save(record)

    assert runtime.schedules.due(NOW) == []
    [entry] = runtime.schedules.due(NOW + timedelta(minutes=5))
    assert (entry.account_id, entry.sync_type) == ("acme", SyncType.DATA_LABELS)

    record.due_at = NOW + timedelta(hours=1)
    runtime.schedules.save(record)
    assert runtime.schedules.due(NOW + timedelta(minutes=30)) == []
    assert len(runtime.schedules.due(NOW + timedelta(hours=1))) == 1

    record.due_at = None
    runtime.schedules.save(record)
    assert runtime.schedules.due(NOW + timedelta(days=10)) == []


def test_failed_save_leaves_no_index_row(runtime: Runtime) -> None:
    runtime.schedules.save(runtime.schedules.get("acme", SyncType.DATA_LABELS))
    stale = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    runtime.schedules.save(runtime.schedules.get("acme", SyncType.DATA_LABELS))

    stale.due_at = NOW
    with pytest.raises(ConcurrencyConflict):
        runtime.schedules.save(stale)
    assert runtime.schedules.due(NOW + timedelta(days=1)) == []
