"""What a webhook event does once its post is accepted: recorded once, turned into targets,
and a run started per (account, sync type) unless one is already queued or running.

Coalescing: a run started by an event is queued `WEBHOOK_COALESCE_SECONDS` ahead, so the
events of that window join it as targets; events that arrive while a run is in progress stay
pending, and the worker starts the next run when that one ends (`after_run`). The scheduler's
tick is the backstop (`sweep`): pending targets whose run was never started (a crash between
the target's write and the run's) get one. Runs obey the one-run-per-(account, type) rule
through the schedule row, as Sync Now does.

Loop prevention: an event whose InitiatingUserId (or UserId) is the connector's application
user (recorded at registration from WhoAmI) is acknowledged and ignored: the connector's own
writes to Dynamics never come back out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from shared.accounts import EmailAccount, Platform
from shared.mappings.model import MappedEntity
from shared.messaging.contract import Trigger
from shared.pipeline.runs import queue_new_run
from shared.pipeline.webhook_adobe import ADOBE_TYPES, adobe_targets
from shared.runtime import Runtime
from shared.scheduling import Interval, in_window
from shared.storage.schedules_repo import InvalidSchedule, ScheduleRecord, ScheduleStatus
from shared.storage.webhook_registrations import WebhookRegistration
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent
from shared.webhooks.targets import MEMBER_TABLES, Target, targets_of, watched_columns

log = logging.getLogger(__name__)

# The sync types an event can target (the worker asks after runs of these only).
TARGETED_TYPES = frozenset(
    {SyncType.MARKETING_LISTS_DATA_OUT, SyncType.SUPPRESSION_LISTS, SyncType.EMAIL_SENDS,
     *ADOBE_TYPES}
)  # fmt: skip
# Clocks of the endpoint and the worker may differ a little: a target noted this close to a
# run's start is not counted as covered by it (at worst one more, short, run).
CLOCK_MARGIN = timedelta(seconds=2)
# The scheduler starts a run for targets left this long without one.
SWEEP_AFTER = timedelta(seconds=60)


class RecordOutcome(StrEnum):
    RECORDED = "recorded"  # new: targets noted, runs started or left to the running ones
    DUPLICATE = "already recorded"  # a redelivery of an event taken before: nothing changes
    OWN_WRITE = "written by the connector"  # loop prevention: the connector's own change
    NOT_SYNCED = "nothing to sync"  # a table or change no sync type reads


def record_event(
    rt: Runtime, event: ChangeEvent, registration: WebhookRegistration
) -> RecordOutcome:
    """Record `event` durably (idempotent on `event.key`) and start or leave the runs it
    needs. Raises only for storage faults (the endpoint answers 503: Dataverse retries once)."""
    connector = registration.connector_user_id.lower()
    if connector and connector in (event.initiating_user_id, event.user_id):
        return RecordOutcome.OWN_WRITE
    if rt.webhook_events.seen(event):
        return RecordOutcome.DUPLICATE
    now = rt.clock()
    noted: dict[tuple[str, SyncType], EmailAccount] = {}
    for account, target in _targets(rt, event):
        pair = (account.account_id, target.sync_type)
        if pair not in noted and not _runs_by_itself(rt, account, target.sync_type):
            continue
        # The target first, the event row last: a post interrupted in between is taken again
        # whole when Dataverse retries it, and noting a target twice is one row.
        rt.webhook_targets.note(account.account_id, target, event, now)
        noted[pair] = account
    if not noted:
        return RecordOutcome.NOT_SYNCED
    summary = "; ".join(f"{account_id}: {sync_type.value}" for account_id, sync_type in noted)
    if not rt.webhook_events.record(event, received=now, targets=summary):
        return RecordOutcome.DUPLICATE
    for account_id, sync_type in noted:
        start_run(rt, account_id, sync_type)
    return RecordOutcome.RECORDED


def _targets(rt: Runtime, event: ChangeEvent) -> list[tuple[EmailAccount, Target]]:
    found: list[tuple[EmailAccount, Target]] = []
    for account in rt.accounts.all():
        if account.disabled:
            continue
        if account.platform is Platform.ADOBE_CAMPAIGN:  # its ingress, its OptOut
            found.extend((account, target) for target in adobe_targets(rt, account, event))
            continue
        watched: frozenset[str] = frozenset()
        if event.entity in MEMBER_TABLES:
            mappings = rt.mappings.for_account(account.account_id)
            watched = watched_columns(mappings, MappedEntity(event.entity))
        for target in targets_of(event, watched):
            if target.account_id and target.account_id.casefold() != account.account_id.casefold():
                continue
            found.append((account, target))
    return found


def _runs_by_itself(rt: Runtime, account: EmailAccount, sync_type: SyncType) -> bool:
    """Whether events may start this type for this account: the account's platform has it and
    its schedule is not Manual Sync Only (the operator runs it by hand)."""
    if not (rt.registry or catalogue()).available(account.platform, sync_type):
        return False
    record = _schedule(rt, account.account_id, sync_type)
    return record is not None and record.spec.interval is not Interval.MANUAL


def _schedule(rt: Runtime, account_id: str, sync_type: SyncType) -> ScheduleRecord | None:
    """The schedule, or None if a hand edit broke its row (the scheduler audits that)."""
    try:
        return rt.schedules.get(account_id, sync_type)
    except InvalidSchedule as broken:
        log.warning("Webhook targets of %s/%s wait: %s", account_id, sync_type.value, broken)
        return None


def start_run(rt: Runtime, account_id: str, sync_type: SyncType) -> bool:
    """Queue a Webhook run for the pair unless one is queued or running (it, or the run after
    it, takes the targets) or the schedule's window is closed (the next scheduled run does)."""
    record = _schedule(rt, account_id, sync_type)
    now = rt.clock()
    if record is None or record.status is not ScheduleStatus.NONE:
        return False
    if record.spec.interval is Interval.MANUAL or not in_window(record.spec, now):
        return False
    account = rt.accounts.get(account_id)
    if account is None or account.disabled:
        return False
    request = queue_new_run(rt, record, Trigger.WEBHOOK, now)
    if request is None:
        return False  # another event (or the scheduler) started it just now
    rt.queue.send_later(request, timedelta(seconds=rt.settings.webhook_coalesce_seconds))
    log.info("Webhook run %s queued for %s/%s", request.run_id, account_id, sync_type.value)
    return True


def after_run(
    rt: Runtime, account_id: str, sync_type: SyncType, started: datetime, *, failed: bool
) -> None:
    """When a run of a targeted type ends: the targets it covered are done (unless it failed:
    they wait for the next scheduled run, so a failing cause cannot loop), and targets noted
    while it ran get the next run."""
    if sync_type not in TARGETED_TYPES:
        return
    cutoff = started - CLOCK_MARGIN
    if not failed:
        rt.webhook_targets.consume(account_id, sync_type, before=cutoff)
    newest = rt.webhook_targets.newest(account_id, sync_type)
    if newest is not None and newest >= cutoff:
        start_run(rt, account_id, sync_type)


def sweep(rt: Runtime, now: datetime) -> int:
    """The scheduler's backstop: a run for targets left without one; targets of accounts that
    are gone, disabled or Manual are dropped. Returns the runs started."""
    started = 0
    for (account_id, sync_type), newest in rt.webhook_targets.pending_pairs().items():
        account = rt.accounts.get(account_id)
        if account is None or account.disabled or sync_type not in TARGETED_TYPES:
            rt.webhook_targets.drop(account_id, sync_type)
            continue
        record = _schedule(rt, account_id, sync_type)
        if record is None:
            continue
        if record.spec.interval is Interval.MANUAL:
            rt.webhook_targets.drop(account_id, sync_type)
            continue
        if newest > now - SWEEP_AFTER or record.status is not ScheduleStatus.NONE:
            continue  # its run is about to start, or running
        if record.last_sync is not None and newest < record.last_sync - CLOCK_MARGIN:
            continue  # a failed run tried these: the next scheduled run takes them
        started += start_run(rt, account_id, sync_type)
    return started
