"""Email data labels per account (the platform's contact data fields, as Dynamics knows them).

`CreatedUtc` is set when a label's row is first written and kept by every later save; a row
written before it was kept has none (not a blank)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode
from pydantic import BaseModel, Field, field_validator

from shared.clock import Clock, utc_now
from shared.errors import BadInputError
from shared.storage.entities import aware


class LabelType(StrEnum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOLEAN = "Boolean"


class LabelOrigin(StrEnum):
    PLATFORM = "Platform"  # found on the platform by the DataLabels sync
    DYNAMICS = "Dynamics"  # created on our side, to be created on the platform


class DataLabel(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    type: LabelType = LabelType.STRING
    is_private: bool = True  # new labels are always created Private (seed)
    default_value: str | None = None
    description: str = ""
    origin: LabelOrigin = LabelOrigin.DYNAMICS
    is_synchronised: bool = False
    last_error: str = ""
    created_utc: datetime | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _named(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            # Not a ValueError: the operator reads this line, not pydantic's wrapping of it.
            raise BadInputError("A data label needs a name, e.g. LOYALTYTIER.")
        return value.strip() if isinstance(value, str) else value


def label_key(name: str) -> str:
    # Platform field names are case-insensitive: one row per name whatever its case.
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name.upper())


def _entity(account_id: str, label: DataLabel) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": account_id,
        "RowKey": label_key(label.name),
        "Name": label.name,
        "Type": label.type.value,
        "IsPrivate": label.is_private,
        "DefaultValue": label.default_value if label.default_value is not None else "",
        "HasDefaultValue": label.default_value is not None,
        "Description": label.description,
        "Origin": label.origin.value,
        "IsSynchronised": label.is_synchronised,
        "LastError": label.last_error,
    }
    if label.created_utc is not None:
        entity["CreatedUtc"] = label.created_utc
    return entity


def _label(row: TableEntity) -> DataLabel:
    return DataLabel(
        name=row["Name"],
        type=LabelType(row["Type"]),
        is_private=row.get("IsPrivate", True),
        default_value=row.get("DefaultValue") if row.get("HasDefaultValue") else None,
        description=row.get("Description", ""),
        origin=LabelOrigin(row.get("Origin", LabelOrigin.DYNAMICS.value)),
        is_synchronised=row.get("IsSynchronised", False),
        last_error=row.get("LastError", ""),
        created_utc=aware(row.get("CreatedUtc")),
    )


class DataLabelRepository:
    def __init__(self, table: TableClient, clock: Clock = utc_now) -> None:
        self._table = table
        self._clock = clock

    def for_account(self, account_id: str) -> list[DataLabel]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": account_id})
        return [_label(row) for row in rows]

    def get(self, account_id: str, name: str) -> DataLabel | None:
        try:
            return _label(self._table.get_entity(account_id, label_key(name)))
        except ResourceNotFoundError:
            return None

    def save(self, account_id: str, label: DataLabel) -> None:
        """Write the label. Without a `created_utc` (a caller that did not read the row
        first), a new row gets the time now and an existing row keeps its own."""
        if label.created_utc is None:
            label = label.model_copy(update={"created_utc": self._created(account_id, label)})
        self._table.upsert_entity(_entity(account_id, label), mode=UpdateMode.REPLACE)

    def delete(self, account_id: str, name: str) -> None:
        """Remove the label's row (its key is case-insensitive); a missing row is not an error."""
        self._table.delete_entity(account_id, label_key(name))

    def _created(self, account_id: str, label: DataLabel) -> datetime | None:
        try:
            row = self._table.get_entity(account_id, label_key(label.name), select=["CreatedUtc"])
        except ResourceNotFoundError:
            return self._clock()
        return aware(row.get("CreatedUtc"))  # None for a row from before: not invented
