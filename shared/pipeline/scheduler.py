"""The scheduler tick (timer, every minute): enqueue due runs, recover stuck ones.

It reads only the due index, so its cost grows with the schedules that are due, not with
the number of accounts. Saving the schedule row (ETag-conditional) before sending makes two
overlapping ticks enqueue a run once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.accounts import EmailAccount
from shared.errors import ConcurrencyConflict
from shared.messaging.contract import SyncRequest, Trigger
from shared.pipeline.runs import mark_free, mark_queued
from shared.runtime import Runtime
from shared.scheduling import Interval
from shared.storage.schedules_repo import ScheduleRecord, ScheduleStatus
from shared.sync.catalogue import catalogue

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    enqueued: list[SyncRequest] = field(default_factory=list)
    recovered: list[SyncRequest] = field(default_factory=list)
    skipped: int = 0


class Scheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def tick(self) -> TickReport:
        rt = self.runtime
        now = rt.clock()
        report = TickReport()
        accounts: dict[str, EmailAccount | None] = {}
        for entry in rt.schedules.due(now):
            record = rt.schedules.get(entry.account_id, entry.sync_type)
            if record.due_key != entry.key:
                rt.schedules.drop_due(entry.key)  # left behind by an interrupted save
                continue
            if entry.account_id not in accounts:
                accounts[entry.account_id] = rt.accounts.get(entry.account_id)
            try:
                self._act(record, accounts[entry.account_id], now, report)
            except ConcurrencyConflict:
                report.skipped += 1  # someone else moved this schedule on; their save re-indexed it
        rt.queue.send(report.enqueued + report.recovered)
        if report.enqueued or report.recovered:
            log.info(
                "Scheduler: %d runs enqueued, %d recovered",
                len(report.enqueued),
                len(report.recovered),
            )
        return report

    def _act(
        self,
        record: ScheduleRecord,
        account: EmailAccount | None,
        now: datetime,
        report: TickReport,
    ) -> None:
        rt = self.runtime
        timeout = timedelta(seconds=rt.settings.queued_timeout_seconds)
        runnable = (
            account is not None
            and not account.disabled
            and (rt.registry or catalogue()).available(account.platform, record.sync_type)
            and record.spec.interval is not Interval.MANUAL
        )
        if record.status is ScheduleStatus.NONE:
            if not runnable:
                # Disabled accounts are never enqueued: their schedule just moves on.
                record.next_sync = None
                mark_free(record, now=now)
                rt.schedules.save(record)
                report.skipped += 1
                return
            request = mark_queued(
                record, trigger=Trigger.SCHEDULED, now=now, timeout=timeout, new_run=True
            )
            rt.schedules.save(record)
            report.enqueued.append(request)
            return
        if account is None or account.disabled:
            mark_free(record, now=now)
            rt.schedules.save(record)
            report.skipped += 1
            return
        # Queued for too long, or in progress with an expired lease: the run gets a new message.
        log.warning(
            "Recovering run %s of %s/%s (%s)",
            record.run_id,
            record.account_id,
            record.sync_type.value,
            record.status.value,
        )
        request = mark_queued(
            record, trigger=Trigger.RECOVERY, now=now, timeout=timeout, new_run=False
        )
        rt.schedules.save(record)
        report.recovered.append(request)
