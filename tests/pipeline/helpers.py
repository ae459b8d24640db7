"""Small helpers for pipeline tests: run a sync through timer -> queue -> worker."""

from __future__ import annotations

from datetime import timedelta

from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts
from shared.localhost.host import LocalHost
from shared.messaging.contract import SyncRequest
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock

EVERY_5 = ScheduleSpec(interval=Interval.MINUTES_5)


def run_scheduled(
    rt: Runtime, host: LocalHost, clock: ManualClock, account_id: str, sync_type: SyncType
) -> AuditRecord:
    """Schedule the type every 5 minutes, let the timer fire when due, drain the queue."""
    record = rt.schedules.get(account_id, sync_type)
    if record.spec != EVERY_5:
        admin.set_schedule(rt, account_id, sync_type, EVERY_5)
    record = rt.schedules.get(account_id, sync_type)
    assert record.next_sync is not None
    clock.now = record.next_sync
    host.fire_timer("scheduler_tick")
    host.drain()
    return latest(rt, account_id, sync_type)


def latest(rt: Runtime, account_id: str, sync_type: SyncType) -> AuditRecord:
    runs = rt.audit.recent(account_id, sync_type=sync_type, limit=1)
    assert runs, f"no audit row for {sync_type}"
    return runs[0]


def take_queued(runtime: Runtime) -> list[SyncRequest]:
    """Every message waiting on the local queue, taken off it (the scheduler's output)."""
    queue = runtime.queue
    assert isinstance(queue, StorageQueueAdapter)
    found: list[SyncRequest] = []
    while deliveries := queue.receive(max_messages=32, visibility=timedelta(seconds=30)):
        for delivery in deliveries:
            queue.complete(delivery)
            found.append(SyncRequest.parse(delivery.body))
    return found


def audit_one_failed_record(
    rt: Runtime, account_id: str, sync_type: SyncType, item: str, message: str
) -> AuditRecord:
    """An audit row (Completed With Errors, 1 failed) with one failed record's detail, as a
    finished run of `sync_type` would leave it."""
    row = AuditRecord(
        account_id=account_id, row_key="0001_r1", run_id="r1", sync_type=sync_type,
        trigger="Scheduled", status=AuditStatus.COMPLETED_WITH_ERRORS, started=rt.clock(),
        finished=rt.clock(), message="1 failed", counts=Counts(failed=1),
    )  # fmt: skip
    rt.audit.write(row)
    detail = AuditDetail(item=item, status=AuditStatus.FAILED, message=message)
    rt.audit.add_detail(account_id, row.row_key, detail)
    return row
