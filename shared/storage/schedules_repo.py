"""Schedules per (account, sync type) and the due index the scheduler reads each minute.

`SyncSchedules` rows (PartitionKey = account id, RowKey = sync type) hold the settings and the
run state. `SyncDue` holds one row per schedule that needs attention at some time, keyed so
that a single range query returns exactly the schedules that are due: the timer's cost grows
with the number of due schedules, not with the number of accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity

from shared.errors import ConcurrencyConflict
from shared.scheduling import Interval, ScheduleSpec, SyncWindow, Weekday, WindowKind
from shared.storage.entities import aware, etag_of, replace_if_unchanged
from shared.sync_types import SyncType

DUE_PARTITION = "Due"
_DAY_NAMES = {day: day.name[:3].title() for day in Weekday}


class ScheduleStatus(StrEnum):
    NONE = "None"
    QUEUED = "Added to Queue"
    IN_PROGRESS = "Synchronising In Progress"


@dataclass
class ScheduleRecord:
    account_id: str
    sync_type: SyncType
    spec: ScheduleSpec = field(default_factory=ScheduleSpec)
    status: ScheduleStatus = ScheduleStatus.NONE
    last_sync: datetime | None = None
    next_sync: datetime | None = None
    last_status: str = ""
    last_message: str = ""
    run_id: str = ""
    run_trigger: str = ""
    run_sequence: int = 0
    run_started: datetime | None = None
    audit_row_key: str = ""
    queued_at: datetime | None = None
    lease_owner: str = ""
    lease_until: datetime | None = None
    due_at: datetime | None = None
    due_key: str = ""
    etag: str | None = None


@dataclass(frozen=True)
class DueEntry:
    key: str
    account_id: str
    sync_type: SyncType


def due_key(moment: datetime, account_id: str, sync_type: SyncType) -> str:
    return f"{moment:%Y%m%d%H%M%S}_{account_id}_{sync_type.value}"


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def _time(text: str) -> time | None:
    return time.fromisoformat(text) if text else None


def _window_columns(window: SyncWindow) -> dict[str, Any]:
    return {
        "SyncWindow": window.describe(),
        "WindowKind": window.kind.value,
        "WindowDays": ",".join(_DAY_NAMES[d] for d in sorted(window.days)),
        "WindowStartUtc": _hhmm(window.start),
        "WindowEndUtc": _hhmm(window.end),
        "SpecificTimeUtc": _hhmm(window.at),
    }


def _window(entity: TableEntity) -> SyncWindow:
    names = {v: k for k, v in _DAY_NAMES.items()}
    days = entity.get("WindowDays", "")
    return SyncWindow(
        kind=WindowKind(entity.get("WindowKind", WindowKind.ANY_TIME.value)),
        days=frozenset(names[d] for d in days.split(",") if d),
        start=_time(entity.get("WindowStartUtc", "")),
        end=_time(entity.get("WindowEndUtc", "")),
        at=_time(entity.get("SpecificTimeUtc", "")),
    )


def _or_blank(value: datetime | None) -> datetime | str:
    return value if value is not None else ""


def to_entity(record: ScheduleRecord) -> dict[str, Any]:
    return {
        "PartitionKey": record.account_id,
        "RowKey": record.sync_type.value,
        "Interval": record.spec.interval.value,
        **_window_columns(record.spec.window),
        "Status": record.status.value,
        "LastSyncUtc": _or_blank(record.last_sync),
        "NextSyncUtc": _or_blank(record.next_sync),
        "LastStatus": record.last_status,
        "LastMessage": record.last_message,
        "RunId": record.run_id,
        "RunTrigger": record.run_trigger,
        "RunSequence": record.run_sequence,
        "RunStartedUtc": _or_blank(record.run_started),
        "AuditRowKey": record.audit_row_key,
        "QueuedUtc": _or_blank(record.queued_at),
        "LeaseOwner": record.lease_owner,
        "LeaseUntilUtc": _or_blank(record.lease_until),
        "DueUtc": _or_blank(record.due_at),
        "DueKey": record.due_key,
    }


def from_entity(entity: TableEntity) -> ScheduleRecord:
    return ScheduleRecord(
        account_id=entity["PartitionKey"],
        sync_type=SyncType(entity["RowKey"]),
        spec=ScheduleSpec(interval=Interval(entity["Interval"]), window=_window(entity)),
        status=ScheduleStatus(entity["Status"]),
        last_sync=aware(entity.get("LastSyncUtc")),
        next_sync=aware(entity.get("NextSyncUtc")),
        last_status=entity.get("LastStatus", ""),
        last_message=entity.get("LastMessage", ""),
        run_id=entity.get("RunId", ""),
        run_trigger=entity.get("RunTrigger", ""),
        run_sequence=entity.get("RunSequence", 0),
        run_started=aware(entity.get("RunStartedUtc")),
        audit_row_key=entity.get("AuditRowKey", ""),
        queued_at=aware(entity.get("QueuedUtc")),
        lease_owner=entity.get("LeaseOwner", ""),
        lease_until=aware(entity.get("LeaseUntilUtc")),
        due_at=aware(entity.get("DueUtc")),
        due_key=entity.get("DueKey", ""),
        etag=etag_of(entity),
    )


class ScheduleRepository:
    def __init__(self, schedules: TableClient, due: TableClient) -> None:
        self._schedules = schedules
        self._due = due

    def get(self, account_id: str, sync_type: SyncType) -> ScheduleRecord:
        """The stored schedule, or the default (Manual Sync Only) one if none was saved yet."""
        try:
            return from_entity(self._schedules.get_entity(account_id, sync_type.value))
        except ResourceNotFoundError:
            return ScheduleRecord(account_id, sync_type)

    def for_account(self, account_id: str) -> list[ScheduleRecord]:
        stored = {
            record.sync_type: record
            for record in map(
                from_entity,
                self._schedules.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": account_id}
                ),
            )
        }
        return [stored.get(st) or ScheduleRecord(account_id, st) for st in SyncType]

    def save(self, record: ScheduleRecord) -> ScheduleRecord:
        """ETag-conditional save; moves the schedule's due-index row when `due_at` changed.

        The new index row is written before the schedule and the old one removed after it, so
        a crash in between leaves a stale index row (skipped and removed by the scheduler),
        never a schedule that nobody will look at again.
        """
        old_key = record.due_key
        new_key = (
            due_key(record.due_at, record.account_id, record.sync_type) if record.due_at else ""
        )
        if new_key and new_key != old_key:
            self._due.upsert_entity(
                {
                    "PartitionKey": DUE_PARTITION,
                    "RowKey": new_key,
                    "AccountId": record.account_id,
                    "SyncType": record.sync_type.value,
                }
            )
        record.due_key = new_key
        entity = to_entity(record)
        try:
            if record.etag is None:
                try:
                    record.etag = str(self._schedules.create_entity(entity)["etag"])
                except ResourceExistsError as error:
                    raise ConcurrencyConflict(
                        f"{record.account_id}/{record.sync_type} was created by someone else"
                    ) from error
            else:
                record.etag = replace_if_unchanged(self._schedules, entity, record.etag)
        except ConcurrencyConflict:
            record.due_key = old_key
            if new_key and new_key != old_key:
                self.drop_due(new_key)
            raise
        if old_key and old_key != new_key:
            self.drop_due(old_key)
        return record

    def due(self, now: datetime, *, limit: int = 1000) -> list[DueEntry]:
        rows = self._due.query_entities(
            "PartitionKey eq @pk and RowKey le @upper",
            parameters={"pk": DUE_PARTITION, "upper": f"{now:%Y%m%d%H%M%S}_~"},
        )
        entries = []
        for row in rows:
            entries.append(DueEntry(row["RowKey"], row["AccountId"], SyncType(row["SyncType"])))
            if len(entries) >= limit:
                break
        return entries

    def drop_due(self, key: str) -> None:
        self._due.delete_entity(DUE_PARTITION, key)
