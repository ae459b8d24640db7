"""The webhook inbox: each accepted event once (WebhookEvents) and the work it left for the
sync (WebhookTargets), both readable in Storage Explorer.

WebhookEvents: PartitionKey = the day of OperationCreatedOn (UTC), RowKey = the event's
idempotency key; a redelivered post finds its row and changes nothing. Purged with the audit.
WebhookTargets: PartitionKey = account id, RowKey = `<sync type>|<kind>|<table>|<id>`: many
events of one record are one row (coalescing); a run deletes the rows it covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, UpdateMode

from shared.storage.entities import aware, delete_all, fit_string
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent
from shared.webhooks.targets import Target, TargetKind

EPOCH = datetime.fromtimestamp(0, UTC)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


class WebhookEvents:
    TABLE = "WebhookEvents"

    def __init__(self, table: TableClient) -> None:
        self.table = table

    def seen(self, event: ChangeEvent) -> bool:
        try:
            self.table.get_entity(_day(event.operation_created), event.key, select=["RowKey"])
        except ResourceNotFoundError:
            return False
        return True

    def record(self, event: ChangeEvent, *, received: datetime, targets: str) -> bool:
        """Write the event's row; False if it was already there (a concurrent redelivery)."""
        entity: dict[str, Any] = {
            "PartitionKey": _day(event.operation_created),
            "RowKey": event.key,
            "Message": event.message,
            "Entity": event.entity,
            "RecordId": event.record_id,
            "Relationship": event.relationship,
            "Changed": fit_string(", ".join(sorted(event.changed)), 4000),
            "SizeExceeded": event.size_exceeded,
            "CorrelationId": event.correlation_id,
            "RequestId": event.request_id,
            "UserId": event.initiating_user_id,
            "OperationCreatedUtc": event.operation_created.astimezone(UTC),
            "ReceivedUtc": received,
            "Targets": fit_string(targets, 4000),
        }
        try:
            self.table.create_entity(entity)
        except ResourceExistsError:
            return False
        return True

    def purge(self, before: datetime) -> int:
        """Delete the days that ended before `before`."""
        old = self.table.query_entities(
            "PartitionKey lt @day",
            parameters={"day": _day(before)},
            select=["PartitionKey", "RowKey"],
        )
        return delete_all(self.table, old)


@dataclass(frozen=True)
class PendingTarget:
    kind: TargetKind
    entity: str
    record_id: str
    first_event: datetime
    last_event: datetime


class WebhookTargets:
    TABLE = "WebhookTargets"

    def __init__(self, table: TableClient) -> None:
        self.table = table

    def note(self, account_id: str, target: Target, event: ChangeEvent, now: datetime) -> None:
        """Add the target, or move an existing one's last event on (one row per record)."""
        self._note(account_id, target, now, message=event.message, event_key=event.key)

    def note_retry(self, account_id: str, target: Target, now: datetime) -> None:
        """Add a target an operator asked for (`failed retry`): no webhook event behind it."""
        self._note(account_id, target, now, message="Retry", event_key="")

    def _note(
        self, account_id: str, target: Target, now: datetime, *, message: str, event_key: str
    ) -> None:
        latest = {
            "PartitionKey": account_id,
            "RowKey": target.key,
            "LastEventUtc": now,
            "LastMessage": message,
            "LastEventKey": event_key,
        }
        try:
            self.table.create_entity(
                {
                    **latest,
                    "SyncType": target.sync_type.value,
                    "Kind": target.kind.value,
                    "Entity": target.entity,
                    "RecordId": target.record_id,
                    "FirstEventUtc": now,
                }
            )
        except ResourceExistsError:
            self.table.upsert_entity(latest, mode=UpdateMode.MERGE)

    def pending(self, account_id: str, sync_type: SyncType) -> list[PendingTarget]:
        rows = self.table.query_entities(
            "PartitionKey eq @p and RowKey ge @lo and RowKey lt @hi",
            parameters={"p": account_id, "lo": f"{sync_type.value}|", "hi": f"{sync_type.value}}}"},
        )
        return [_pending(row) for row in rows]

    def newest(self, account_id: str, sync_type: SyncType) -> datetime | None:
        """When the latest event of a pending target arrived, or None without targets."""
        latest = [t.last_event for t in self.pending(account_id, sync_type)]
        return max(latest) if latest else None

    def consume(self, account_id: str, sync_type: SyncType, before: datetime) -> int:
        """Delete the targets whose last event arrived before `before` (a run covered them);
        one noted again meanwhile (its ETag moved) stays for the next run."""
        removed = 0
        rows = self.table.query_entities(
            "PartitionKey eq @p and RowKey ge @lo and RowKey lt @hi and LastEventUtc lt @before",
            parameters={
                "p": account_id,
                "lo": f"{sync_type.value}|",
                "hi": f"{sync_type.value}}}",
                "before": before,
            },
            select=["PartitionKey", "RowKey"],
        )
        for row in rows:
            try:
                self.table.delete_entity(
                    row, etag=row.metadata["etag"], match_condition=MatchConditions.IfNotModified
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
            removed += 1
        return removed

    def pending_pairs(self) -> dict[tuple[str, SyncType], datetime]:
        """Every (account, sync type) with targets, and its latest event (the scheduler's
        backstop for a run that was never started)."""
        pairs: dict[tuple[str, SyncType], datetime] = {}
        for row in self.table.list_entities(select=["PartitionKey", "RowKey", "LastEventUtc"]):
            try:
                sync_type = SyncType(str(row["RowKey"]).split("|", 1)[0])
            except ValueError:
                continue  # a hand-made row: not ours to act on
            key = (str(row["PartitionKey"]), sync_type)
            last = aware(row.get("LastEventUtc")) or EPOCH
            pairs[key] = max(last, pairs.get(key, EPOCH))
        return pairs

    def drop(self, account_id: str, sync_type: SyncType) -> int:
        rows = self.table.query_entities(
            "PartitionKey eq @p and RowKey ge @lo and RowKey lt @hi",
            parameters={"p": account_id, "lo": f"{sync_type.value}|", "hi": f"{sync_type.value}}}"},
            select=["PartitionKey", "RowKey"],
        )
        return delete_all(self.table, rows)


def _pending(row: Any) -> PendingTarget:
    try:
        kind = TargetKind(str(row.get("Kind", "")))
    except ValueError:
        kind = TargetKind.ALL  # a hand-edited kind: sync the whole type rather than nothing
    return PendingTarget(
        kind=kind,
        entity=str(row.get("Entity", "")),
        record_id=str(row.get("RecordId", "")),
        first_event=aware(row.get("FirstEventUtc")) or EPOCH,
        last_event=aware(row.get("LastEventUtc")) or EPOCH,
    )
