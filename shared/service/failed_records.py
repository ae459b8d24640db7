"""Failed records: what a run could not sync (key, reason), read from its audit details, and
a retry with one command: a run for just those records where the sync type can be targeted.

Which records a run names depends on its sync type: MarketingListsDataOut writes one detail
per list and names the members it could not push in it ("N failed: key: reason; ..."), or
fails a list as a whole; the other types write a Failed detail per record (SuppressionLists,
MarketingPreferences) or per item they could not finish. A retry reuses the webhook machinery:
the failed lists become targets (kind LIST) of a run with trigger Retry, which syncs only those
lists and, in each, only members whose values differ from what the platform accepted (failed
members never were). The other types cannot be limited to records: the answer says so.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pydantic import BaseModel

from shared.audit import AuditDetail, AuditRecord, AuditStatus, split_list_item
from shared.errors import NotFoundError
from shared.messaging.contract import Trigger
from shared.pipeline import admin
from shared.pipeline.runs import queue_new_run
from shared.pipeline.webhook_events import CLOCK_MARGIN
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.marketing_lists.links_repo import list_links
from shared.sync_types import SyncType
from shared.webhooks.targets import LIST_TABLE, Target, TargetKind

RETRYABLE = frozenset({SyncType.MARKETING_LISTS_DATA_OUT})
LOOK_BACK = timedelta(days=30)  # the audit keeps 30 days
ROWS_PER_TYPE = 20  # audit rows read per sync type to find its newest finished run
# "... , 2 failed: a@x: InvalidEmail; b@x: Duplicate (...)" ends a list's detail message.
NAMED_FAILURES = re.compile(r"(\d+) failed: (.+)$")


class FailedRecord(BaseModel):
    item: str  # the detail row it was named in (a list's name for list syncs)
    key: str  # the record (an email, a record key); "" when the item failed as a whole
    reason: str


class FailedRun(BaseModel):
    account_id: str
    sync_type: SyncType | str
    run_id: str
    row_key: str
    trigger: str
    started: datetime
    status: AuditStatus
    message: str
    failed: int  # the run's failed count (more than `records` when not every one is named)
    records: list[FailedRecord]
    retryable: bool  # a Retry run can be limited to these records (else: the whole type again)
    retry: str  # what `failed retry` does for this run


class RetryAnswer(BaseModel):
    sync_type: SyncType | str
    run_id: str  # the failed run
    queued: bool  # a Retry run was queued (or the running one was given the targets)
    retry_run_id: str = ""
    message: str


def failed_runs(
    rt: Runtime, account_id: str, *, sync_type: SyncType | None = None, run_id: str | None = None
) -> list[FailedRun]:
    """The failed records of one run (`run_id`), or of each sync type's newest finished run
    that failed some (only `sync_type`'s if given)."""
    admin.require_account(rt, account_id)
    if run_id is not None:
        rows = [r for r in rt.audit.for_run(account_id, run_id) if r.sync_type == sync_type
                or sync_type is None]  # fmt: skip
        if not rows:
            raise NotFoundError(f"No run '{run_id}' in the audit of '{account_id}' "
                                f"(see `audit {account_id}`).")  # fmt: skip
        return [_failed_run(rt, row) for row in rows]
    runs = []
    for kind in [sync_type] if sync_type else list(SyncType):
        newest = _newest_finished(rt, account_id, kind)
        if newest is not None and _has_failures(newest):
            runs.append(_failed_run(rt, newest))
    return runs


def retry_failed(
    rt: Runtime, account_id: str, *, sync_type: SyncType | None = None, run_id: str | None = None
) -> list[RetryAnswer]:
    """A targeted run for the failed records of `failed_runs(...)`, per run."""
    return [_retry(rt, run) for run in failed_runs(rt, account_id, sync_type=sync_type,
                                                      run_id=run_id)]  # fmt: skip


def _newest_finished(rt: Runtime, account_id: str, sync_type: SyncType) -> AuditRecord | None:
    rows = rt.audit.recent(
        account_id, sync_type=sync_type, since=rt.clock() - LOOK_BACK, limit=ROWS_PER_TYPE
    )
    for row in rows:
        # Runs only: not the rows about unusable messages or schedule rows, nor dry runs.
        if row.status is AuditStatus.IN_PROGRESS or row.trigger in (
            Trigger.DRY_RUN.value,
            "Queue message",
            "Scheduler",
        ):
            continue
        return row
    return None


def _has_failures(row: AuditRecord) -> bool:
    return row.counts.failed > 0 or row.status in (
        AuditStatus.FAILED, AuditStatus.COMPLETED_WITH_ERRORS
    )  # fmt: skip


def _failed_run(rt: Runtime, row: AuditRecord) -> FailedRun:
    details = rt.audit.details(row.account_id, row.row_key)
    records = [record for detail in details for record in _records(row.sync_type, detail)]
    return FailedRun(
        account_id=row.account_id,
        sync_type=row.sync_type,
        run_id=row.run_id,
        row_key=row.row_key,
        trigger=row.trigger,
        started=row.started,
        status=row.status,
        message=row.message,
        failed=row.counts.failed,
        records=records,
        retryable=row.sync_type in RETRYABLE,
        retry=_retry_plan(row),
    )


def _records(sync_type: SyncType | str, detail: AuditDetail) -> list[FailedRecord]:
    if detail.status not in (AuditStatus.FAILED, AuditStatus.COMPLETED_WITH_ERRORS):
        return []
    if sync_type != SyncType.MARKETING_LISTS_DATA_OUT:
        # A detail of one record names it by its key (ingress: `contact:<contactid>`).
        return [FailedRecord(item=detail.item, key=detail.key or detail.item,
                             reason=detail.message)]  # fmt: skip
    named = NAMED_FAILURES.search(detail.message)
    if named is None:  # the list failed as a whole (or failed members were only counted)
        return [FailedRecord(item=detail.item, key="", reason=detail.message)]
    records = []
    for failure in named.group(2).split("; "):
        key, _, reason = failure.partition(": ")
        records.append(FailedRecord(item=detail.item, key=key, reason=reason))
    return records


def _retry_plan(row: AuditRecord) -> str:
    if row.sync_type in RETRYABLE:
        return "`failed retry` syncs the lists named here again (a run with trigger Retry)."
    return (
        f"{row.sync_type} runs cannot be limited to records: "
        f"`sync-now {row.account_id} {row.sync_type}` runs the whole type again."
    )


def _retry(rt: Runtime, run: FailedRun) -> RetryAnswer:
    answer = RetryAnswer(sync_type=run.sync_type, run_id=run.run_id, queued=False,
                         message=run.retry)  # fmt: skip
    if run.sync_type not in RETRYABLE or not isinstance(run.sync_type, SyncType):
        return answer
    account = admin.require_account(rt, run.account_id)
    if account.disabled:
        answer.message = f"Account '{account.name}' is disabled: enable it, then retry."
        return answer
    items = sorted({record.item for record in run.records})
    list_ids, unknown = _list_ids(rt, run.account_id, items)
    if not list_ids:
        answer.message = "None of the failed lists is known any more (renamed or deleted?)."
        return answer
    now = rt.clock()
    record = rt.schedules.get(run.account_id, run.sync_type)
    # Noted as of just before the run queued here, so that it counts them as covered (not as
    # noted while it ran, which would start one more run); a run already going does not.
    idle = record.status is ScheduleStatus.NONE
    noted = now - CLOCK_MARGIN - timedelta(seconds=1) if idle else now
    for list_id in list_ids:
        target = Target(run.sync_type, TargetKind.LIST, LIST_TABLE, list_id)
        rt.webhook_targets.note_retry(run.account_id, target, noted)
    names = ", ".join(name for name in items if name not in unknown)
    skipped = f" Not found any more: {', '.join(unknown)}." if unknown else ""
    answer.queued = True
    if record.status is not ScheduleStatus.NONE:
        # The targets wait: when the run in progress ends, the worker starts one for them.
        answer.message = (f"{run.sync_type.value} is '{record.status.value}': {names} will be "
                          f"synced by the run after it.{skipped}")  # fmt: skip
        return answer
    request = queue_new_run(rt, record, Trigger.RETRY, now)
    if request is None:
        answer.message = (f"{run.sync_type.value} was just started by someone else: {names} "
                          f"will be synced by the run after it.{skipped}")  # fmt: skip
        return answer
    rt.queue.send([request])
    answer.retry_run_id = request.run_id
    answer.message = f"Retry run {request.run_id} queued for {names}.{skipped}"
    return answer


def _list_ids(rt: Runtime, account_id: str, items: list[str]) -> tuple[list[str], list[str]]:
    """The marketing list ids of detail items (list names, or "Name (id)" where names are
    shared): the account's list links first, Dynamics for lists never linked."""
    ids: list[str] = []
    wanted: dict[str, str] = {}
    for item in items:
        _, list_id = split_list_item(item)
        if list_id:
            ids.append(list_id)
        else:
            wanted[item] = item
    for link in list_links(rt).for_account(account_id):
        if link.list_name in wanted:
            ids.append(link.list_id.lower())
            del wanted[link.list_name]
    if wanted:
        for mlist in rt.dataverse().iter_marketing_lists(active_only=True):
            if mlist.name in wanted:
                ids.append(mlist.list_id.lower())
                del wanted[mlist.name]
    return sorted(set(ids)), sorted(wanted)
