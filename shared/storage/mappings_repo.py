"""Data mappings per account; one row per (entity, label), so a label feeds one field each."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableEntity

from shared.errors import ConcurrencyConflict
from shared.mappings.model import DataMapping, MappedEntity, MappingDirection
from shared.storage.data_labels_repo import label_key


def mapping_key(entity: MappedEntity, label: str) -> str:
    return f"{entity.value}.{label_key(label)}"


def _entity(account_id: str, mapping: DataMapping) -> dict[str, Any]:
    return {
        "PartitionKey": account_id,
        "RowKey": mapping_key(mapping.entity, mapping.label),
        "Label": mapping.label,
        "MappedEntity": mapping.entity.value,
        "PrimaryCrmField": mapping.primary_field,
        "LinkedEntity": mapping.linked_entity or "",
        "LinkedCrmField": mapping.linked_field or "",
        "MappingDirection": mapping.direction.value,
        "IsDefault": mapping.is_default,
    }


def _mapping(row: TableEntity) -> DataMapping:
    return DataMapping(
        label=row["Label"],
        entity=MappedEntity(row["MappedEntity"]),
        primary_field=row["PrimaryCrmField"],
        linked_entity=row.get("LinkedEntity") or None,
        linked_field=row.get("LinkedCrmField") or None,
        direction=MappingDirection(row["MappingDirection"]),
        is_default=row.get("IsDefault", False),
    )


class MappingRepository:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def for_account(self, account_id: str) -> list[DataMapping]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": account_id})
        return [_mapping(row) for row in rows]

    def create(self, account_id: str, mapping: DataMapping) -> None:
        """Insert only: an existing (entity, label) mapping raises ConcurrencyConflict."""
        try:
            self._table.create_entity(_entity(account_id, mapping))
        except ResourceExistsError as error:
            raise ConcurrencyConflict(mapping_key(mapping.entity, mapping.label)) from error

    def delete(self, account_id: str, entity: MappedEntity, label: str) -> None:
        self._table.delete_entity(account_id, mapping_key(entity, label))
