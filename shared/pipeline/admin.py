"""Operator actions: Sync Now, schedule changes, provisioning an account, audit purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.accounts import EmailAccount, Platform
from shared.engine.registry import NotAvailable
from shared.errors import ConcurrencyConflict, ConflictError, NotFoundError
from shared.mappings.model import DataMapping, DuplicateMapping, default_mappings
from shared.messaging.contract import Trigger
from shared.pipeline.mapping_validation import validate_mapping
from shared.pipeline.runs import queue_new_run
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec, next_sync, schedule_once_a_day
from shared.storage.data_labels_repo import DataLabel
from shared.storage.schedules_repo import ScheduleRecord, ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from shared.telemetry.tracing import span


class AccountNotFound(NotFoundError):
    pass


class DuplicateLabel(ConflictError):
    pass


@dataclass(frozen=True)
class SyncNowResult:
    accepted: bool
    message: str


def require_account(rt: Runtime, account_id: str) -> EmailAccount:
    account = rt.accounts.get(account_id)
    if account is None:
        known = ", ".join(a.account_id for a in rt.accounts.all()) or "none yet"
        raise AccountNotFound(f"No email account '{account_id}' (known accounts: {known}).")
    return account


def platform_sync_types(rt: Runtime, account: EmailAccount) -> list[SyncType]:
    """The sync types the account's platform offers, in the order of the enum (the schedule
    screen's order)."""
    offered = set((rt.registry or catalogue()).sync_types(account.platform))
    return [t for t in SyncType if t in offered]


def _require_available(rt: Runtime, account: EmailAccount, sync_type: SyncType) -> None:
    registry = rt.registry or catalogue()
    if not registry.available(account.platform, sync_type):
        offered = ", ".join(t.value for t in registry.sync_types(account.platform)) or "none"
        raise NotAvailable(
            f"{sync_type.value} is not available for {account.platform.value} accounts in this "
            f"version of the connector (available: {offered})."
        )


def sync_now(
    rt: Runtime, account_id: str, sync_type: SyncType, *, dry_run: bool = False
) -> SyncNowResult:
    """Queue a run now. A dry run reads and decides, records what it would write in the audit
    (counts and samples), writes nothing and moves no watermark."""
    account = require_account(rt, account_id)
    _require_available(rt, account, sync_type)
    if account.disabled:
        return SyncNowResult(
            False, f"Account '{account.name}' is disabled: enable it before syncing."
        )
    record = rt.schedules.get(account_id, sync_type)
    if record.status is not ScheduleStatus.NONE:
        return SyncNowResult(
            False, f"{sync_type.value} is already '{record.status.value}': nothing changed."
        )
    trigger = Trigger.DRY_RUN if dry_run else Trigger.MANUAL
    # The run's trace starts here: its message carries this span's context to the worker.
    with span("sync now", account_id=account_id, sync_type=sync_type.value) as current:
        request = queue_new_run(rt, record, trigger, rt.clock())
        if request is None:
            return SyncNowResult(False, f"{sync_type.value} was just started by someone else.")
        current.set_attribute("run_id", request.run_id)
        rt.queue.send([request])
    kind = "dry run" if dry_run else "run"
    return SyncNowResult(True, f"{sync_type.value} added to the queue ({kind} {request.run_id}).")


def set_schedule(
    rt: Runtime, account_id: str, sync_type: SyncType, spec: ScheduleSpec
) -> ScheduleRecord:
    _require_available(rt, require_account(rt, account_id), sync_type)
    record = rt.schedules.get(account_id, sync_type, allow_invalid=True)  # rewrites a bad row
    record.spec = spec
    record.next_sync = next_sync(spec, after=rt.clock())
    return _save_next(rt, record)


def set_once_a_day_start(
    rt: Runtime, account_id: str, sync_type: SyncType, on: date, at: time | None
) -> ScheduleRecord:
    """The 'Next Synchronisation' field: first run on that date, then daily at that time."""
    _require_available(rt, require_account(rt, account_id), sync_type)
    record = rt.schedules.get(account_id, sync_type, allow_invalid=True)
    spec, first = schedule_once_a_day(on=on, at=at, current_next=record.next_sync, now=rt.clock())
    record.spec = spec
    record.next_sync = first
    return _save_next(rt, record)


def _save_next(rt: Runtime, record: ScheduleRecord) -> ScheduleRecord:
    if record.status is ScheduleStatus.NONE:
        record.due_at = record.next_sync
    return rt.schedules.save(record)


def provision_account(
    rt: Runtime,
    account: EmailAccount,
    schedules: dict[SyncType, ScheduleSpec] | None = None,
    *,
    first_run: datetime | None = None,
) -> None:
    """Create what is missing: the account, its default data mappings (a Dotdigital account's:
    they map to its contact data fields) and a schedule row for every sync type (Manual Sync
    Only unless `schedules` gives one; `first_run` overrides a new schedule's first time), so
    Storage Explorer shows all of them.

    Running it again (a second `make demo`) never undoes an operator's change: an account,
    mapping or schedule that exists is left as it is, even a schedule row a hand edit broke.
    """
    if rt.accounts.get(account.account_id) is None:
        rt.accounts.save(account)
    if account.platform is Platform.DOTDIGITAL:  # data labels are Dotdigital contact fields
        existing = {(m.entity, m.label) for m in rt.mappings.for_account(account.account_id)}
        for mapping in default_mappings():
            if (mapping.entity, mapping.label) not in existing:
                rt.mappings.create(account.account_id, mapping)
    specs = schedules or {}
    missing = []
    platform_types = platform_sync_types(rt, account)
    for record in rt.schedules.for_account(account.account_id, platform_types):
        if record.etag is not None:
            continue  # stored: the operator's, whatever it says
        record.spec = specs.get(record.sync_type, record.spec)
        if record.spec.interval is not Interval.MANUAL:
            record.next_sync = first_run or next_sync(record.spec, after=rt.clock())
            record.due_at = record.next_sync
        missing.append(record)
    # One transaction for the account's new rows; a row someone created meanwhile is theirs.
    rt.schedules.save_many(missing)


def add_mapping(rt: Runtime, account_id: str, mapping: DataMapping) -> None:
    """Validate against the stored CRM metadata and labels; save only if it all holds.
    The next sync of a marketing-list type picks the mapping up."""
    require_account(rt, account_id)
    validate_mapping(
        mapping,
        account_id=account_id,
        labels=rt.data_labels.for_account(account_id),
        crm_fields=rt.crm_fields.for_account(account_id),
        existing=rt.mappings.for_account(account_id),
    )
    try:
        rt.mappings.create(account_id, mapping)
    except ConcurrencyConflict as error:  # added by someone else since the check above
        raise DuplicateMapping(f"This mapping already exists: {mapping.describe}.") from error


def add_label(rt: Runtime, account_id: str, label: DataLabel) -> None:
    """Save a new data label; the next DataLabels sync creates it in Dotdigital."""
    require_account(rt, account_id)
    if rt.data_labels.get(account_id, label.name) is not None:
        raise DuplicateLabel(f"A data label named '{label.name}' already exists in '{account_id}'.")
    rt.data_labels.save(account_id, label)


def purge_audit(rt: Runtime, *, now: datetime | None = None) -> int:
    from shared.pipeline.worker import UNKNOWN_ACCOUNT

    cutoff = (now or rt.clock()) - timedelta(days=rt.settings.audit_retention_days)
    accounts = [a.account_id for a in rt.accounts.all()] + [UNKNOWN_ACCOUNT]
    removed = rt.audit.purge(accounts, older_than=cutoff)
    # Webhook events are kept as long as the audit: a redelivery older than that is long over.
    return removed + rt.webhook_events.purge(cutoff)
