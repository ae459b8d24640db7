"""The queue worker: claim one run, execute its handler slice, audit it, free the schedule.

Every message is handled idempotently. A message that is not the schedule's current run
(a duplicate, a replay, a late copy, an earlier message of the run: run id and sequence
decide) changes nothing; one that no worker can use is audited once and dead-lettered.
Two workers racing for one run are decided by an ETag-conditional update of the schedule
row; the winner holds a lease that it renews at each checkpoint, so a worker that dies
mid-run is replaced once the lease expires (the scheduler re-enqueues the run, or the broker
redelivers the message).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts, Messages
from shared.engine.registry import NotAvailable, SyncTypeRegistry
from shared.engine.runner import Paused, Slice
from shared.engine.template import SyncResult
from shared.errors import (
    ConcurrencyConflict,
    InvalidMessage,
    LeaseLost,
    SyncError,
    handling,
)
from shared.messaging.contract import SyncRequest, Trigger, peek_fields
from shared.pipeline.runs import mark_free, mark_queued
from shared.pipeline.webhook_events import after_run
from shared.runtime import Runtime
from shared.storage.audit_repo import audit_row_key, failure_record
from shared.storage.entities import fit_string
from shared.storage.schedules_repo import InvalidSchedule, ScheduleRecord, ScheduleStatus
from shared.storage.sync_state_repo import Checkpoint
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from shared.telemetry.metrics import queue_lag, run_finished
from shared.telemetry.tracing import describe_slice, in_run, slice_span

log = logging.getLogger(__name__)

LEASE_GRACE = timedelta(seconds=1)
MAX_DEFERRALS = 20  # beyond this the scheduler's recovery of expired leases takes over
UNKNOWN_ACCOUNT = "unknown-account"
DRY_RUN = Trigger.DRY_RUN.value


class Outcome(StrEnum):
    FINISHED = "finished"
    PAUSED = "paused"
    RETRYING = "retrying later from the last checkpoint"
    NOT_CURRENT = "not the current run"
    BUSY = "run held by another worker"
    LOST_RACE = "another worker claimed the run"
    LEASE_LOST = "lease lost mid-run"
    ACCOUNT_UNAVAILABLE = "account missing or disabled"


class Worker:
    def __init__(self, runtime: Runtime, *, worker_id: str | None = None) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.registry: SyncTypeRegistry = runtime.registry or catalogue()

    def handle(self, body: bytes | str) -> Outcome:
        """Handle one message in a span of its run's trace (the sender's context)."""
        traceparent = peek_fields(body).get("traceparent")
        with slice_span(traceparent, {}) as current:
            outcome = self._handle(body)
            current.set_attribute("outcome", outcome.value)
            return outcome

    def _handle(self, body: bytes | str) -> Outcome:
        request, account = self._intake(body)
        rt = self.runtime
        now = rt.clock()
        fields = {
            "run_id": request.run_id,
            "sync_type": request.sync_type.value,
            "account_id": request.account_id,
            "trigger": request.trigger.value,
        }
        describe_slice(fields, sequence=request.sequence)
        queue_lag((now - request.enqueued_utc).total_seconds(), request.sync_type.value)
        with in_run(fields):
            return self._run(body, request, account, now)

    def _run(
        self, body: bytes | str, request: SyncRequest, account: EmailAccount, now: datetime
    ) -> Outcome:
        rt = self.runtime
        try:
            record = rt.schedules.get(request.account_id, request.sync_type)
        except InvalidSchedule as broken:  # hand-edited while its run was queued
            unusable = InvalidMessage(f"{broken}. The run cannot start until it is fixed.")
            self._audit_invalid(body, unusable, partition=account.account_id, request=request)
            raise unusable from broken
        if not is_current(record, request):
            log.info(
                "Ignoring %s: %s (the run is at message %s of run %s)",
                request.message_id,
                Outcome.NOT_CURRENT,
                record.run_sequence,
                record.run_id or "-",
            )
            return Outcome.NOT_CURRENT
        if (
            record.status is ScheduleStatus.IN_PROGRESS
            and record.lease_until is not None
            and record.lease_until > now
        ):
            # Either a duplicate racing a live worker, or a redelivery that came back before a
            # dead worker's lease ran out. Look again just after the lease ends: by then the
            # run has finished (and this copy is not current) or it is ours to take over.
            if request.deferrals < MAX_DEFERRALS:
                again = request.model_copy(
                    update={"deferrals": request.deferrals + 1, "enqueued_utc": now}
                )
                rt.queue.send_later(again, record.lease_until - now + LEASE_GRACE)
            return Outcome.BUSY

        if account.disabled:
            log.warning("Run %s dropped: account %s", request.run_id, Outcome.ACCOUNT_UNAVAILABLE)
            mark_free(record, now=now)
            try:
                rt.schedules.save(record)
            except ConcurrencyConflict:
                return Outcome.LOST_RACE
            return Outcome.ACCOUNT_UNAVAILABLE

        if not record.audit_row_key:
            record.run_started = now
            record.audit_row_key = audit_row_key(now, record.run_id)
        record.status = ScheduleStatus.IN_PROGRESS
        self._hold_lease(record)
        try:
            rt.schedules.save(record)
        except ConcurrencyConflict:
            return Outcome.LOST_RACE

        checkpoint = rt.state.load_checkpoint(account.account_id, record.sync_type, record.run_id)
        self._write_audit(record, AuditStatus.IN_PROGRESS, "", checkpoint)
        progress = checkpoint
        dry_run = record.run_trigger == DRY_RUN

        saves = 0

        def save(cursor: dict[str, Any], counts: Counts) -> None:
            nonlocal progress, saves
            saves += 1
            progress = Checkpoint(
                run_id=record.run_id, cursor=cursor, counts=counts, retries=progress.retries
            )
            self._checkpoint(record, progress)

        work = Slice(
            sync_type=self.registry.get(account.platform, record.sync_type),
            services=rt,
            account=account,
            run_id=record.run_id,
            dry_run=dry_run,
            budget_seconds=rt.settings.run_time_budget_seconds,
            save=save,
            add_detail=lambda d: self._add_detail(record, d),
            trigger=record.run_trigger,
        )
        try:
            result: SyncResult | Paused = work.run(
                checkpoint.cursor, checkpoint.counts.model_copy()
            )
        except LeaseLost:
            return Outcome.LEASE_LOST
        except SyncError as error:
            # One table decides (shared.errors.HANDLING): retriable errors and lost races
            # continue from the last checkpoint later, a bounded number of times.
            if handling(error).retry_run and progress.retries < rt.settings.run_retry_limit:
                return self._retry_later(record, progress, str(error))
            log.warning("Run %s failed: %s", record.run_id, error)
            message = str(error)
            if progress.retries:
                message = f"{message} (after {progress.retries + 1} attempts)"
            result = SyncResult(AuditStatus.FAILED, message)
        except Exception:
            log.exception("Run %s crashed", record.run_id)
            result = SyncResult(AuditStatus.FAILED, Messages.INTERNAL)

        if isinstance(result, Paused):
            if result.waiting and not result.polling and not saves:
                # A whole slice without one checkpoint: the next would likely fare no better
                # (an API holding every answer), so it counts as a failed attempt.
                return self._stalled(record, progress, result.waiting)
            return self._pause(record, request, progress, result)
        final = progress.model_copy(update={"counts": work.counts or progress.counts})
        return self._finish(record, result, final, dry_run=dry_run)

    def _intake(self, body: bytes | str) -> tuple[SyncRequest, EmailAccount]:
        """The request and its account. A message no worker can use (it breaks the contract,
        names no account, or a sync type this version does not run for the account's
        platform) is audited once and raised as InvalidMessage, which dead-letters it."""
        try:
            request = SyncRequest.parse(body)
        except InvalidMessage as error:
            self._audit_invalid(body, error)
            raise
        account = self.runtime.accounts.get(request.account_id)
        if account is None:
            unknown = InvalidMessage(
                f"Invalid sync request: there is no email account '{request.account_id}' "
                "(never provisioned, or removed since the message was sent)."
            )
            self._audit_invalid(body, unknown, partition=UNKNOWN_ACCOUNT)
            raise unknown
        try:
            self.registry.get(account.platform, request.sync_type)
        except NotAvailable as refused:
            unavailable = InvalidMessage(f"Invalid sync request: {refused}.")
            self._release(request)
            self._audit_invalid(body, unavailable, partition=account.account_id, request=request)
            raise unavailable from refused
        return request, account

    def _release(self, request: SyncRequest) -> None:
        """Free the schedule if this unusable message is its current run, so the scheduler
        does not recover (and re-send) a run that can never start."""
        try:
            record = self.runtime.schedules.get(request.account_id, request.sync_type)
        except InvalidSchedule:
            return  # the scheduler skips (and audits) the row until someone fixes it
        if is_current(record, request):
            mark_free(record, now=self.runtime.clock())
            with contextlib.suppress(ConcurrencyConflict):
                self.runtime.schedules.save(record)

    def _hold_lease(self, record: ScheduleRecord) -> None:
        lease_until = self.runtime.clock() + timedelta(
            seconds=self.runtime.settings.run_lease_seconds
        )
        record.lease_owner = self.worker_id
        record.lease_until = lease_until
        record.due_at = lease_until  # if we die, the scheduler looks at the run again then

    def _checkpoint(self, record: ScheduleRecord, progress: Checkpoint) -> None:
        # Renew the lease first: if it was lost, the new owner's checkpoint must not be clobbered.
        self._hold_lease(record)
        try:
            self.runtime.schedules.save(record)
        except ConcurrencyConflict as error:
            raise LeaseLost(str(error)) from error
        self.runtime.state.save_checkpoint(
            record.account_id, record.sync_type, progress, self.runtime.clock()
        )

    def _pause(
        self, record: ScheduleRecord, request: SyncRequest, progress: Checkpoint, paused: Paused
    ) -> Outcome:
        # The wait that did not fit (a Retry-After, a poll interval): continue once it is over.
        seconds = max(self.runtime.settings.continuation_delay_seconds, paused.seconds)
        delay = timedelta(seconds=seconds)
        if not self._continue_later(record, progress, "Continuing in a follow-up", delay):
            return Outcome.LEASE_LOST
        log.info("Run %s paused after slice %d", request.run_id, request.sequence)
        return Outcome.PAUSED

    def _stalled(self, record: ScheduleRecord, progress: Checkpoint, waiting: str) -> Outcome:
        if progress.retries < self.runtime.settings.run_retry_limit:
            return self._retry_later(record, progress, waiting)
        message = f"{waiting} (no progress in {progress.retries + 1} attempts)"
        result = SyncResult(AuditStatus.FAILED, message[:1000])
        return self._finish(record, result, progress, dry_run=record.run_trigger == DRY_RUN)

    def _retry_later(self, record: ScheduleRecord, progress: Checkpoint, error: str) -> Outcome:
        rt = self.runtime
        progress = progress.model_copy(update={"retries": progress.retries + 1})
        try:
            self._checkpoint(record, progress)
        except LeaseLost:
            return Outcome.LEASE_LOST
        delay = timedelta(seconds=rt.settings.run_retry_delay_seconds)
        note = (
            f"Attempt {progress.retries} of {rt.settings.run_retry_limit + 1} failed: "
            f"{error.rstrip('.')}. "
            f"Continuing from the last checkpoint in {delay.total_seconds():.0f} s"
        )
        log.warning("Run %s: %s", record.run_id, note)
        if not self._continue_later(record, progress, note[:1000], delay):
            return Outcome.LEASE_LOST
        return Outcome.RETRYING

    def _continue_later(
        self, record: ScheduleRecord, progress: Checkpoint, note: str, delay: timedelta
    ) -> bool:
        """Queue the run's next slice `delay` from now (False: the lease was lost); the audit
        row says why."""
        rt = self.runtime
        # If the message is lost, the scheduler looks at the run again after the timeout.
        timeout = timedelta(seconds=rt.settings.queued_timeout_seconds) + delay
        follow_up = mark_queued(
            record, trigger=Trigger.CONTINUATION, now=rt.clock(), timeout=timeout, new_run=False
        )
        try:
            rt.schedules.save(record)
        except ConcurrencyConflict:
            return False
        self._write_audit(record, AuditStatus.IN_PROGRESS, note, progress)
        rt.queue.send_later(follow_up, delay)
        return True

    def _finish(
        self, record: ScheduleRecord, result: SyncResult, progress: Checkpoint, *, dry_run: bool
    ) -> Outcome:
        rt = self.runtime
        now = rt.clock()
        self._write_audit(record, result.status, result.message, progress, finished=True)
        if not dry_run:  # a dry run is not the type's last sync (gates read its status)
            record.last_sync = record.run_started
            record.last_status = result.status.value
            record.last_message = result.message[:1000]
        started = record.run_started
        mark_free(record, now=now)
        try:
            rt.schedules.save(record)
        except ConcurrencyConflict:
            return Outcome.LEASE_LOST
        rt.state.clear_checkpoint(record.account_id, record.sync_type)
        run_finished(record.sync_type.value, result.status.value, progress.counts.read)
        if not dry_run and started is not None:
            self._after_run(record, started, failed=result.status is AuditStatus.FAILED)
        return Outcome.FINISHED

    def _after_run(self, record: ScheduleRecord, started: datetime, *, failed: bool) -> None:
        """Webhook targets: done ones removed, the next run started for new ones. A fault here
        leaves them pending for the scheduler's sweep; the finished run stays finished."""
        try:
            after_run(self.runtime, record.account_id, record.sync_type, started, failed=failed)
        except Exception:
            log.exception("Webhook follow-up of %s/%s failed", record.account_id, record.sync_type)

    def _write_audit(
        self,
        record: ScheduleRecord,
        status: AuditStatus,
        message: str,
        progress: Checkpoint,
        *,
        finished: bool = False,
    ) -> None:
        assert record.run_started is not None
        self.runtime.audit.write(
            AuditRecord(
                account_id=record.account_id,
                row_key=record.audit_row_key,
                run_id=record.run_id,
                sync_type=record.sync_type,
                trigger=record.run_trigger,
                status=status,
                started=record.run_started,
                finished=self.runtime.clock() if finished else None,
                message=message,
                counts=progress.counts,
            )
        )

    def _add_detail(self, record: ScheduleRecord, detail: AuditDetail) -> None:
        self.runtime.audit.add_detail(record.account_id, record.audit_row_key, detail)

    def _audit_invalid(
        self,
        body: bytes | str,
        error: InvalidMessage,
        *,
        partition: str | None = None,
        request: SyncRequest | None = None,
    ) -> None:
        """One audit row per unusable message, however often it is delivered: the row's run
        id is a hash of the body. Its account's partition when it names a known account."""
        fields = peek_fields(body)
        if partition is None:
            account_id = fields.get("account_id", "")
            valid = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}", account_id)
            account = self.runtime.accounts.get(account_id) if valid else None
            partition = account.account_id if account else UNKNOWN_ACCOUNT
        run_id = poison_run_id(body)
        now = self.runtime.clock()
        sync_type: SyncType | str = (
            request.sync_type if request else fit_string(fields.get("sync_type") or "Unknown", 100)
        )
        with contextlib.suppress(ValueError):
            sync_type = SyncType(sync_type)
        log.warning("Unusable message (dead-lettered): %s", str(error)[:500])
        message = f"{error} The message was moved to the dead-letter queue."
        self.runtime.audit.write_once(
            failure_record(partition, run_id, sync_type, "Queue message", message, now)
        )


def poison_run_id(body: bytes | str) -> str:
    """The run id of an unusable message's audit row: the same for every copy of the body."""
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return "poison-" + hashlib.sha256(raw).hexdigest()[:24]


def is_current(record: ScheduleRecord, request: SyncRequest) -> bool:
    """Whether `request` is the message the schedule's run waits for: a duplicate or replay of
    an earlier message of the run (a lower sequence) is not."""
    return (
        record.status is not ScheduleStatus.NONE
        and record.run_id == request.run_id
        and record.run_sequence == request.sequence
    )
