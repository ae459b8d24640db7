"""Contact data fields (v2): list and create."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.routes import CREATE_DATA_FIELD, LIST_DATA_FIELDS
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import as_list, field
from shared.errors import ApiError

DataFieldValue = str | int | float | bool | None


class DataField(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    visibility: str
    default_value: DataFieldValue = None


def data_field(item: Any) -> DataField:
    if not isinstance(item, dict):
        raise ApiError("Dotdigital returned a data field that is not an object", status=200)
    default = field(item, "defaultValue")
    return DataField(
        name=str(field(item, "name")),
        type=str(field(item, "type")),
        visibility=str(field(item, "visibility") or "Private"),
        default_value=default if isinstance(default, str | int | float | bool) else None,
    )


class DataFieldsApi(DotdigitalTransport):
    def list_data_fields(self) -> list[DataField]:
        body = as_list(self._get(LIST_DATA_FIELDS), "data fields")
        return [data_field(item) for item in body]

    def create_data_field(
        self,
        name: str,
        type: str,
        *,
        visibility: str = "Private",
        default_value: DataFieldValue = None,
    ) -> DataField:
        """Create a contact data field; ApiError code ERROR_NON_UNIQUE_DATAFIELD if it exists."""
        request = {
            "name": name,
            "type": type,
            "visibility": visibility,
            "defaultValue": default_value,
        }
        outcome_unknown: list[bool] = []
        try:
            response = self._call(CREATE_DATA_FIELD, json=request, outcome_unknown=outcome_unknown)
        except ApiError as error:
            # A retry after a lost answer finds the field our own earlier attempt created.
            if error.code == "ERROR_NON_UNIQUE_DATAFIELD" and outcome_unknown:
                existing = next(
                    (f for f in self.list_data_fields() if f.name.lower() == name.lower()), None
                )
                if existing is not None and existing.type.lower() == type.lower():
                    return existing
            raise
        # The generated spec documents 201 without a body; the docs show the field echoed.
        if response.content.strip():
            return data_field(response.json())
        return DataField(name=name, type=type, visibility=visibility, default_value=default_value)
