"""State transitions of a schedule row around one run (shared by scheduler, worker, Sync Now)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from shared.errors import ConcurrencyConflict
from shared.messaging.contract import SyncRequest, Trigger
from shared.runtime import Runtime
from shared.scheduling import next_sync
from shared.storage.schedules_repo import ScheduleRecord, ScheduleStatus
from shared.telemetry.tracing import current_traceparent


def new_run_id() -> str:
    return uuid.uuid4().hex


def mark_queued(
    record: ScheduleRecord, *, trigger: Trigger, now: datetime, timeout: timedelta, new_run: bool
) -> SyncRequest:
    """Put the schedule in 'Added to Queue' and return the message that carries the run."""
    if new_run:
        record.run_id = new_run_id()
        record.run_trigger = trigger.value
        record.run_sequence = 0
        record.run_started = None
        record.audit_row_key = ""
    else:
        record.run_sequence += 1
    record.status = ScheduleStatus.QUEUED
    record.queued_at = now
    record.lease_owner = ""
    record.lease_until = None
    # If nobody picks the message up (lost, or dead-lettered), the scheduler looks again then.
    record.due_at = now + timeout
    return SyncRequest(
        account_id=record.account_id,
        sync_type=record.sync_type,
        run_id=record.run_id,
        trigger=trigger,
        sequence=record.run_sequence,
        enqueued_utc=now,
        traceparent=current_traceparent(),
    )


def mark_free(record: ScheduleRecord, *, now: datetime) -> None:
    """Back to 'None', with the next sync time from the schedule (a chosen future time stays)."""
    record.status = ScheduleStatus.NONE
    if record.next_sync is None or record.next_sync <= now:
        record.next_sync = next_sync(record.spec, after=now)
    record.run_id = ""
    record.run_trigger = ""
    record.run_sequence = 0
    record.run_started = None
    record.audit_row_key = ""
    record.queued_at = None
    record.lease_owner = ""
    record.lease_until = None
    record.due_at = record.next_sync


def queue_new_run(
    rt: Runtime, record: ScheduleRecord, trigger: Trigger, now: datetime
) -> SyncRequest | None:
    """Mark an idle schedule queued for a new run and save it (ETag-conditional): the message
    for the caller to send, or None when another writer changed the row first (nothing queued).
    For one-off starts (Sync Now, webhooks, retries); the scheduler saves its rows in batches."""
    request = mark_queued(
        record,
        trigger=trigger,
        now=now,
        timeout=timedelta(seconds=rt.settings.queued_timeout_seconds),
        new_run=True,
    )
    try:
        rt.schedules.save(record)
    except ConcurrencyConflict:
        return None
    return request
