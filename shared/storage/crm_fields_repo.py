"""Mappable CRM fields per account (the CrmMetadata sync's result), for data mappings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from azure.data.tables import TableClient, TableEntity, UpdateMode
from pydantic import BaseModel

from shared.storage.entities import BATCH_LIMIT, delete_all


class CrmField(BaseModel):
    entity: str
    logical_name: str
    display_name: str
    attribute_type: str
    targets: tuple[str, ...] = ()  # for lookups: the entities it can point to (empty: unknown)


def _entity(account_id: str, field: CrmField) -> dict[str, Any]:
    return {
        "PartitionKey": account_id,
        "RowKey": f"{field.entity}.{field.logical_name}",
        "EntityName": field.entity,
        "LogicalName": field.logical_name,
        "DisplayName": field.display_name,
        "Type": field.attribute_type,
        "LookupTargets": ",".join(field.targets),
    }


def _field(row: TableEntity) -> CrmField:
    return CrmField(
        entity=row["EntityName"],
        logical_name=row["LogicalName"],
        display_name=row["DisplayName"],
        attribute_type=row["Type"],
        targets=tuple(t for t in row.get("LookupTargets", "").split(",") if t),
    )


class CrmFieldRepository:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def for_account(self, account_id: str, entity: str | None = None) -> list[CrmField]:
        query = "PartitionKey eq @pk"
        params = {"pk": account_id}
        if entity is not None:
            # RowKeys are "<entity>.<field>": a prefix range reads one entity only.
            query += " and RowKey gt @lo and RowKey lt @hi"
            params |= {"lo": f"{entity}.", "hi": f"{entity}/"}
        return [_field(row) for row in self._table.query_entities(query, parameters=params)]

    def upsert(self, account_id: str, fields: Iterable[CrmField]) -> None:
        batch: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for field in fields:
            batch.append(("upsert", _entity(account_id, field), {"mode": UpdateMode.REPLACE}))
            if len(batch) == BATCH_LIMIT:
                self._table.submit_transaction(batch)
                batch = []
        if batch:
            self._table.submit_transaction(batch)

    def delete(self, account_id: str, fields: Iterable[CrmField]) -> int:
        keys = [
            {"PartitionKey": account_id, "RowKey": f"{f.entity}.{f.logical_name}"} for f in fields
        ]
        return delete_all(self._table, keys)  # type: ignore[arg-type]
