"""Sync audit in Table Storage: newest first per account (inverted-ticks RowKey), 30-day purge.

Every string column is cut to fit a Table property (64 KiB) here, whoever the caller: an
audit row must never fail to be written because a message or a name was too long. Five such
columns keep a row far below the 1 MiB an entity may hold.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts
from shared.storage.entities import aware, delete_all, fit_string
from shared.sync_types import SyncType

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_MAX_TICKS = 3155378975999999999  # .NET DateTime.MaxValue.Ticks, as Azure's own samples use


def inverted_ticks(moment: datetime) -> str:
    delta = moment - _EPOCH
    ticks = (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    return f"{_MAX_TICKS - ticks:019d}"


def audit_row_key(started: datetime, run_id: str) -> str:
    return f"{inverted_ticks(started)}_{run_id}"


def failure_record(
    account_id: str,
    run_id: str,
    sync_type: SyncType | str,
    trigger: str,
    message: str,
    at: datetime,
) -> AuditRecord:
    """A Failed audit row for something that never became a run (an unusable message, an
    unreadable schedule row): started and finished at `at`."""
    return AuditRecord(
        account_id=account_id,
        row_key=audit_row_key(at, run_id),
        run_id=run_id,
        sync_type=sync_type,
        trigger=trigger,
        status=AuditStatus.FAILED,
        started=at,
        finished=at,
        message=message,
    )


def _counts_columns(counts: Counts) -> dict[str, int]:
    return {
        "Read": counts.read,
        "Created": counts.created,
        "Updated": counts.updated,
        "Deleted": counts.deleted,
        "Failed": counts.failed,
    }


def _counts(entity: TableEntity) -> Counts:
    return Counts(
        read=entity.get("Read", 0),
        created=entity.get("Created", 0),
        updated=entity.get("Updated", 0),
        deleted=entity.get("Deleted", 0),
        failed=entity.get("Failed", 0),
    )


def _detail_key(detail: AuditDetail) -> str:
    # RowKeys may not hold / \ # ? or control characters; list names can. The name leads (the
    # rows sort by it in Storage Explorer); the hash is of what tells two items apart.
    safe = "".join(c if c.isalnum() or c in " -_." else "_" for c in detail.item)[:60]
    identity = detail.key or detail.item
    return f"{safe}_{hashlib.sha1(identity.encode()).hexdigest()[:8]}"


class AuditRepository:
    def __init__(self, audit: TableClient, details: TableClient) -> None:
        self._audit = audit
        self._details = details

    def write(self, record: AuditRecord) -> None:
        """Upsert the run's row: writing the same run twice leaves one row."""
        finished = record.finished
        entity: dict[str, Any] = {
            "PartitionKey": record.account_id,
            "RowKey": record.row_key,
            "SyncType": fit_string(str(record.sync_type)),
            "Status": record.status.value,
            "Message": fit_string(record.message),
            **_counts_columns(record.counts),
            "StartedUtc": record.started,
            "Trigger": fit_string(record.trigger),
            "RunId": fit_string(record.run_id),
        }
        if finished is not None:  # a run in progress has neither (not blanks: see README)
            entity["FinishedUtc"] = finished
            entity["DurationSeconds"] = round((finished - record.started).total_seconds(), 1)
        self._audit.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def write_once(self, record: AuditRecord) -> bool:
        """Write the row unless the partition has a row of this run already (False then).

        For rows about one event seen many times (a poison message delivered again): the row
        key holds the time it was first seen, so the run id decides. Two writers racing both
        write, then both keep the same one of the rows they see, so one row stays.
        """
        if self._rows_of_run(record.account_id, record.run_id):
            return False
        self.write(record)
        rows = sorted(self._rows_of_run(record.account_id, record.run_id))
        for row_key in rows[1:]:
            with contextlib.suppress(ResourceNotFoundError):
                self._audit.delete_entity(record.account_id, row_key)
        return rows[:1] == [record.row_key]

    def _rows_of_run(self, account_id: str, run_id: str) -> list[str]:
        rows = self._audit.query_entities(
            "PartitionKey eq @pk and RunId eq @run",
            parameters={"pk": account_id, "run": run_id},
            select=["RowKey"],
        )
        return [row["RowKey"] for row in rows]

    def for_run(self, account_id: str, run_id: str) -> list[AuditRecord]:
        """The account's audit rows of one run (one, unless a write raced), newest first."""
        rows = self._audit.query_entities(
            "PartitionKey eq @pk and RunId eq @run", parameters={"pk": account_id, "run": run_id}
        )
        return [_record(row) for row in rows]

    def add_detail(self, account_id: str, audit_key: str, detail: AuditDetail) -> None:
        self._details.upsert_entity(
            {
                "PartitionKey": f"{account_id}_{audit_key}",
                "RowKey": _detail_key(detail),
                "Item": fit_string(detail.item),
                "Status": detail.status.value,
                "Message": fit_string(detail.message),
                **_counts_columns(detail.counts),
                # The record's key when the row names one record (a failed record's id).
                **({"Key": fit_string(detail.key)} if detail.key else {}),
            },
            mode=UpdateMode.REPLACE,
        )

    def get(self, account_id: str, row_key: str) -> AuditRecord | None:
        rows = list(
            self._audit.query_entities(
                "PartitionKey eq @pk and RowKey eq @rk",
                parameters={"pk": account_id, "rk": row_key},
            )
        )
        return _record(rows[0]) if rows else None

    def recent(
        self,
        account_id: str,
        *,
        sync_type: SyncType | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[AuditRecord]:
        """Newest first. `since` becomes a RowKey bound, so old rows are never read; `after`
        (a row key) starts past that row, for the next page."""
        query = "PartitionKey eq @pk"
        params: dict[str, Any] = {"pk": account_id}
        if after is not None:
            query += " and RowKey gt @after"
            params["after"] = after
        if since is not None:
            query += " and RowKey le @upper"
            params["upper"] = inverted_ticks(since) + "_~"
        if sync_type is not None:
            query += " and SyncType eq @st"
            params["st"] = sync_type.value
        records: list[AuditRecord] = []
        for entity in self._audit.query_entities(query, parameters=params):
            records.append(_record(entity))
            if limit is not None and len(records) >= limit:
                break
        return records

    def details(self, account_id: str, audit_key: str) -> list[AuditDetail]:
        rows = self._details.query_entities(
            "PartitionKey eq @pk", parameters={"pk": f"{account_id}_{audit_key}"}
        )
        return [
            AuditDetail(
                item=row["Item"],
                status=AuditStatus(row["Status"]),
                message=row.get("Message", ""),
                counts=_counts(row),
                key=row.get("Key", ""),
            )
            for row in rows
        ]

    def purge(self, account_ids: Iterable[str], *, older_than: datetime) -> int:
        """Delete audit rows (and their details) that started before `older_than`."""
        removed = 0
        lower = inverted_ticks(older_than)
        for account_id in account_ids:
            old = list(
                self._audit.query_entities(
                    "PartitionKey eq @pk and RowKey gt @lower",
                    parameters={"pk": account_id, "lower": lower},
                    select=["PartitionKey", "RowKey"],
                )
            )
            for row in old:
                delete_all(self._details, self._detail_rows(account_id, row["RowKey"]))
            removed += delete_all(self._audit, old)
        return removed

    def _detail_rows(self, account_id: str, audit_key: str) -> Iterator[TableEntity]:
        yield from self._details.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": f"{account_id}_{audit_key}"},
            select=["PartitionKey", "RowKey"],
        )


def _record(entity: TableEntity) -> AuditRecord:
    started = aware(entity["StartedUtc"])
    assert started is not None
    return AuditRecord(
        account_id=entity["PartitionKey"],
        row_key=entity["RowKey"],
        run_id=entity.get("RunId", ""),
        sync_type=_sync_type(entity["SyncType"]),
        trigger=entity.get("Trigger", ""),
        status=AuditStatus(entity["Status"]),
        started=started,
        finished=aware(entity.get("FinishedUtc")),
        message=entity.get("Message", ""),
        counts=_counts(entity),
    )


def _sync_type(value: str) -> SyncType | str:
    try:
        return SyncType(value)
    except ValueError:
        return value
