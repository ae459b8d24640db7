"""Sync state per account: run checkpoints (cursor + running counts) and lasting values
such as delta links and watermarks. Values are JSON so Storage Explorer shows them as text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode
from pydantic import BaseModel

from shared.audit import Counts
from shared.sync_types import SyncType


class Checkpoint(BaseModel):
    run_id: str
    cursor: dict[str, Any]
    counts: Counts
    retries: int = 0  # times the run was retried from this checkpoint after a retriable error


class SyncStateRepository:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def load_checkpoint(self, account_id: str, sync_type: SyncType, run_id: str) -> Checkpoint:
        """The run's saved progress; a fresh one when the run has none (or an older run's)."""
        try:
            row = self._table.get_entity(account_id, f"{sync_type.value}-Checkpoint")
        except ResourceNotFoundError:
            return Checkpoint(run_id=run_id, cursor={}, counts=Counts())
        if row.get("RunId") != run_id:
            return Checkpoint(run_id=run_id, cursor={}, counts=Counts())
        return Checkpoint(
            run_id=run_id,
            cursor=json.loads(row.get("Cursor") or "{}"),
            counts=Counts.model_validate_json(row.get("Counts") or "{}"),
            retries=int(row.get("Retries") or 0),
        )

    def save_checkpoint(
        self, account_id: str, sync_type: SyncType, checkpoint: Checkpoint, now: datetime
    ) -> None:
        # Cursor and counts go in one entity write, so a resumed run never counts a page twice.
        self._table.upsert_entity(
            {
                "PartitionKey": account_id,
                "RowKey": f"{sync_type.value}-Checkpoint",
                "RunId": checkpoint.run_id,
                "Cursor": json.dumps(checkpoint.cursor, sort_keys=True),
                "Counts": checkpoint.counts.model_dump_json(),
                "Retries": checkpoint.retries,
                "SavedUtc": now,
            },
            mode=UpdateMode.REPLACE,
        )

    def clear_checkpoint(self, account_id: str, sync_type: SyncType) -> None:
        self._table.delete_entity(account_id, f"{sync_type.value}-Checkpoint")

    def get_value(self, account_id: str, key: str) -> Any:
        try:
            row = self._table.get_entity(account_id, key)
        except ResourceNotFoundError:
            return None
        return json.loads(row["Value"])

    def set_value(self, account_id: str, key: str, value: Any, now: datetime) -> None:
        self._table.upsert_entity(
            {
                "PartitionKey": account_id,
                "RowKey": key,
                "Value": json.dumps(value, sort_keys=True),
                "SavedUtc": now,
            },
            mode=UpdateMode.REPLACE,
        )
