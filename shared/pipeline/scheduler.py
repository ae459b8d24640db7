"""The scheduler tick (timer, every minute): enqueue due runs, recover stuck ones.

It reads only the due index, so its cost grows with the schedules that are due, not with the
number of accounts. Due schedules are handled a chunk of accounts at a time, oldest first:
the chunk's accounts and schedules are read with as few queries as their density allows, each
account's changed schedules are saved in one ETag-checked transaction, and the runs of the
rows saved are sent at once, in message batches. Saving before sending makes overlapping ticks
enqueue a run once (the loser's ETag check fails, it sends nothing); a crash between the save
and the send leaves the run 'Added to Queue' with its due time at the queued timeout, when
this tick recovers it with a new message. The tick stops starting chunks once its time budget
is spent; what is left is still due, and the next tick takes it up first.

A schedule row or index row that a hand edit broke is skipped, logged and audited once for
its account; it never stops the tick for the others.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.accounts import EmailAccount
from shared.messaging.contract import SyncRequest, Trigger
from shared.pipeline import webhook_events
from shared.pipeline.runs import mark_free, mark_queued
from shared.pipeline.worker import UNKNOWN_ACCOUNT
from shared.runtime import Runtime
from shared.scheduling import Interval
from shared.storage.audit_repo import failure_record
from shared.storage.schedule_rows import from_entity
from shared.storage.schedules_repo import DueEntry, ScheduleRecord, ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from shared.telemetry.tracing import span

log = logging.getLogger(__name__)

# Due schedules handled per chunk: enough to fill 100-row index transactions in each shard,
# few enough that the budget is checked every second or two.
CHUNK_SCHEDULES = 1000
AUDIT_TRIGGER = "Scheduler"


@dataclass
class TickReport:
    enqueued: list[SyncRequest] = field(default_factory=list)
    recovered: list[SyncRequest] = field(default_factory=list)
    skipped: int = 0
    invalid: int = 0
    left_for_next_tick: int = 0  # due schedules not reached before the budget ran out
    webhook_runs: int = 0  # runs started for webhook targets left without one


class Scheduler:
    def __init__(
        self,
        runtime: Runtime,
        *,
        budget_seconds: float | None = None,
        timer: Callable[[], float] = time.monotonic,
        chunk_schedules: int = CHUNK_SCHEDULES,
    ) -> None:
        self.runtime = runtime
        self.budget = budget_seconds or runtime.settings.scheduler_tick_budget_seconds
        self.timer = timer
        self.chunk_schedules = chunk_schedules
        self.registry = runtime.registry or catalogue()

    def tick(self) -> TickReport:
        # The tick is the root of the trace of every run it starts or recovers.
        with span("scheduler tick") as current:
            report = self._tick()
            current.set_attribute("runs.enqueued", len(report.enqueued))
            current.set_attribute("runs.recovered", len(report.recovered))
        return report

    def _tick(self) -> TickReport:
        rt = self.runtime
        deadline = self.timer() + self.budget
        now = rt.clock()
        report = TickReport()
        by_account: dict[str, list[DueEntry]] = {}
        unreadable: list[DueEntry] = []
        for entry in rt.schedules.due(now):
            if entry.problem:
                self._audit_index_row(entry, now)
                report.invalid += 1
                if entry.sync_type is None:
                    unreadable.append(entry)
                    continue
            by_account.setdefault(entry.account_id, []).append(entry)
        if unreadable:
            rt.schedules.drop_due(*(e.key for e in unreadable))
        chunks = list(self._chunks(by_account))
        for done, chunk in enumerate(chunks):
            if done and self.timer() >= deadline:
                report.left_for_next_tick = sum(len(es) for c in chunks[done:] for es in c.values())
                log.warning(
                    "Scheduler: time budget spent, %d due schedules left for the next tick",
                    report.left_for_next_tick,
                )
                break
            self._run_chunk(chunk, now, report)
        try:
            report.webhook_runs = webhook_events.sweep(rt, now)
        except Exception:
            log.exception("Scheduler: the webhook targets sweep failed")
        if report.enqueued or report.recovered:
            log.info(
                "Scheduler: %d runs enqueued, %d recovered",
                len(report.enqueued),
                len(report.recovered),
            )
        return report

    def _chunks(self, by_account: dict[str, list[DueEntry]]) -> Iterator[dict[str, list[DueEntry]]]:
        chunk: dict[str, list[DueEntry]] = {}
        size = 0
        for account_id, entries in by_account.items():
            chunk[account_id] = entries
            size += len(entries)
            if size >= self.chunk_schedules:
                yield chunk
                chunk, size = {}, 0
        if chunk:
            yield chunk

    def _run_chunk(
        self, chunk: dict[str, list[DueEntry]], now: datetime, report: TickReport
    ) -> None:
        rt = self.runtime
        accounts = rt.accounts.get_many(chunk)
        expected = sum(len(entries) for entries in chunk.values())
        rows = rt.schedules.due_rows(chunk, now, expected=expected)
        changed: list[tuple[ScheduleRecord, SyncRequest | None]] = []
        stale: list[str] = []
        for account_id, entries in chunk.items():
            for entry in entries:
                assert entry.sync_type is not None
                row = rows.get(account_id, {}).get(entry.sync_type.value)
                if row is None:
                    # Not due by its Run_DueUtc: a stale index row, a hand edit of Run_DueUtc, or a
                    # row written before the Run_ columns (the next save rewrites it).
                    row = rt.schedules.row(account_id, entry.sync_type)
                record = from_entity(row) if row is not None else None
                if record is None or record.due_key != entry.key:
                    stale.append(entry.key)  # left behind by an interrupted or lost save
                    continue
                if record.problems:
                    self._audit_schedule_row(record, now)
                    report.invalid += 1
                    stale.append(entry.key)  # looked at again once `schedule set` fixes it
                    continue
                try:
                    request = self._act(record, accounts.get(account_id), now)
                except Exception:
                    log.exception("Scheduler skipped %s/%s", account_id, entry.sync_type.value)
                    report.skipped += 1
                    continue
                changed.append((record, request))
        requests = {id(record): request for record, request in changed}
        outcome = rt.schedules.save_many([record for record, _ in changed])
        # Someone else moved these schedules on; their save re-indexed them.
        report.skipped += len(outcome.conflicts)
        to_send = []
        for record in outcome.saved:
            request = requests[id(record)]
            if request is None:
                report.skipped += 1
                continue
            to_send.append(request)
            (report.recovered if request.trigger is Trigger.RECOVERY else report.enqueued).append(
                request
            )
        rt.queue.send(to_send)  # right after the save: never 'Added to Queue' without a message
        rt.schedules.drop_due(*outcome.old_keys, *stale)

    def _act(
        self, record: ScheduleRecord, account: EmailAccount | None, now: datetime
    ) -> SyncRequest | None:
        """Move the record on (in memory); the message to send once it is saved, if any."""
        timeout = timedelta(seconds=self.runtime.settings.queued_timeout_seconds)
        runnable = (
            account is not None
            and not account.disabled
            and self.registry.available(account.platform, record.sync_type)
            and record.spec.interval is not Interval.MANUAL
        )
        if record.status is ScheduleStatus.NONE:
            if not runnable:
                # Disabled accounts are never enqueued: their schedule just moves on.
                record.next_sync = None
                mark_free(record, now=now)
                return None
            return mark_queued(
                record, trigger=Trigger.SCHEDULED, now=now, timeout=timeout, new_run=True
            )
        if account is None or account.disabled:
            mark_free(record, now=now)
            return None
        # Queued for too long, or in progress with an expired lease: the run gets a new message.
        log.warning(
            "Recovering run %s of %s/%s (%s)",
            record.run_id,
            record.account_id,
            record.sync_type.value,
            record.status.value,
        )
        return mark_queued(
            record, trigger=Trigger.RECOVERY, now=now, timeout=timeout, new_run=False
        )

    def _audit_schedule_row(self, record: ScheduleRecord, now: datetime) -> None:
        log.error("%s/%s: %s", record.account_id, record.sync_type.value, record.invalid_reason)
        self._audit(record.account_id, record.sync_type, record.invalid_reason, now)

    def _audit_index_row(self, entry: DueEntry, now: datetime) -> None:
        message = f"The due index row {entry.key} (table SyncDue) is invalid: {entry.problem}; "
        if entry.sync_type is None:
            message += "it was removed. Re-save the schedule it belonged to with `schedule set`."
        else:
            message += f"it was rebuilt from its RowKey, which names {entry.sync_type.value}."
        log.error("%s", message)
        account_id = entry.account_id or UNKNOWN_ACCOUNT
        self._audit(account_id, entry.sync_type or "Unknown", message, now)

    def _audit(
        self, account_id: str, sync_type: SyncType | str, message: str, now: datetime
    ) -> None:
        # Once per broken row: the row's index entry is removed or rebuilt right after this.
        digest = hashlib.sha256(f"{account_id}|{sync_type}|{message}".encode()).hexdigest()
        run_id = f"invalid-{digest[:24]}"
        self.runtime.audit.write(
            failure_record(account_id, run_id, sync_type, AUDIT_TRIGGER, message, now)
        )
