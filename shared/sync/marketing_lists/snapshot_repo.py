"""What was last synced for each member of a linked list: the snapshot increments diff against.

PartitionKey `<account>_<list id>`, RowKey = the member's Dataverse id. `SyncedValues` holds the
mapped label values as last agreed by both sides (JSON), so a two-way sync can tell which side
changed a field since.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar

from azure.data.tables import TableClient, TableEntity, UpdateMode
from pydantic import BaseModel

from shared.runtime import Runtime
from shared.storage.entities import BATCH_LIMIT, aware, delete_all


class MemberSnapshot(BaseModel):
    member_id: str
    email: str
    values_hash: str
    synced_values: dict[str, Any] = {}
    contact_id: int | None = None  # the Dotdigital contact id, once known
    synced_utc: datetime | None = None


def _partition(account_id: str, list_id: str) -> str:
    return f"{account_id}_{list_id}"


def _entity(partition: str, member: MemberSnapshot) -> dict[str, Any]:
    return {
        "PartitionKey": partition,
        "RowKey": member.member_id,
        "Email": member.email,
        "ValuesHash": member.values_hash,
        "SyncedValues": json.dumps(member.synced_values, sort_keys=True, default=str),
        "DotdigitalContactId": member.contact_id if member.contact_id is not None else -1,
        "SyncedUtc": member.synced_utc or "",
    }


def _member(row: TableEntity) -> MemberSnapshot:
    contact_id = row.get("DotdigitalContactId", -1)
    return MemberSnapshot(
        member_id=row["RowKey"],
        email=row.get("Email", ""),
        values_hash=row.get("ValuesHash", ""),
        synced_values=json.loads(row.get("SyncedValues") or "{}"),
        contact_id=None if contact_id in (None, -1) else contact_id,
        synced_utc=aware(row.get("SyncedUtc")),
    )


def list_members(services: Runtime) -> ListMemberRepository:
    """The runtime's snapshot repository (one instance: a test's wrapper sees every call)."""
    return services.repository(ListMemberRepository)


class ListMemberRepository:
    TABLE: ClassVar[str] = "ListMembers"
    WRITES: ClassVar[tuple[str, ...]] = ("upsert_many", "delete_many", "delete_list")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def iter_members(self, account_id: str, list_id: str) -> Iterator[MemberSnapshot]:
        rows = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": _partition(account_id, list_id)}
        )
        for row in rows:
            yield _member(row)

    def load(self, account_id: str, list_id: str) -> dict[str, MemberSnapshot]:
        return {m.member_id: m for m in self.iter_members(account_id, list_id)}

    def upsert_many(self, account_id: str, list_id: str, members: Iterable[MemberSnapshot]) -> int:
        partition = _partition(account_id, list_id)
        batch: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        written = 0
        for member in members:
            batch.append(("upsert", _entity(partition, member), {"mode": UpdateMode.REPLACE}))
            if len(batch) == BATCH_LIMIT:
                self._table.submit_transaction(batch)
                written += len(batch)
                batch = []
        if batch:
            self._table.submit_transaction(batch)
            written += len(batch)
        return written

    def delete_many(self, account_id: str, list_id: str, member_ids: Iterable[str]) -> int:
        partition = _partition(account_id, list_id)
        keys = [{"PartitionKey": partition, "RowKey": member_id} for member_id in member_ids]
        return delete_all(self._table, keys)  # type: ignore[arg-type]

    def delete_list(self, account_id: str, list_id: str) -> int:
        return self.delete_many(
            account_id, list_id, [m.member_id for m in self.iter_members(account_id, list_id)]
        )
