"""Table definitions: a table's change tracking and primary key, the columns of contact, lead
and account (PAD `webapi/query-metadata-web-api.md`). Metadata is not paged."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dataverse.transport import DataverseTransport
from shared.errors import ApiError

_LOGICAL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class CrmAttribute(BaseModel):
    model_config = ConfigDict(frozen=True)

    entity: str
    logical_name: str
    display_name: str
    attribute_type: str


LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})


def display_name(label: Any, fallback: str) -> str:
    if isinstance(label, dict):
        user = label.get("UserLocalizedLabel")
        if isinstance(user, dict) and user.get("Label"):
            return str(user["Label"])
        for localized in label.get("LocalizedLabels") or []:
            if isinstance(localized, dict) and localized.get("Label"):
                return str(localized["Label"])
    return fallback


def entity_attributes(transport: DataverseTransport, logical_name: str) -> list[CrmAttribute]:
    if not _LOGICAL_NAME.match(logical_name):
        raise ValueError(f"not a Dataverse logical name: {logical_name!r}")
    path = f"EntityDefinitions(LogicalName='{logical_name}')/Attributes"
    body, _ = transport.get_json(
        path,
        operation=f"GET {path}",
        params={"$select": "LogicalName,AttributeType,DisplayName"},
    )
    items = body.get("value", []) if isinstance(body, dict) else []
    attributes = []
    for item in items:
        name = str(item["LogicalName"])
        attributes.append(
            CrmAttribute(
                entity=logical_name,
                logical_name=name,
                display_name=display_name(item.get("DisplayName"), name),
                attribute_type=str(item.get("AttributeType") or ""),
            )
        )
    return attributes


def lookup_targets(transport: DataverseTransport, logical_name: str) -> dict[str, tuple[str, ...]]:
    """`Targets` is only on LookupAttributeMetadata, so it takes the documented type cast."""
    path = (
        f"EntityDefinitions(LogicalName='{logical_name}')/Attributes/"
        "Microsoft.Dynamics.CRM.LookupAttributeMetadata"
    )
    body, _ = transport.get_json(
        path, operation=f"GET {path}", params={"$select": "LogicalName,Targets"}
    )
    return {
        str(item["LogicalName"]): tuple(str(t) for t in item.get("Targets") or ())
        for item in (body.get("value", []) if isinstance(body, dict) else [])
    }


class TableInfo(BaseModel):
    """What a sync needs to know of a table before it reads it through change tracking."""

    model_config = ConfigDict(frozen=True)

    logical_name: str
    primary_id: str
    change_tracking: bool
    is_activity: bool
    entity_set: str = ""  # the Web API collection (`contacts`, `new_loyaltycards`)


def table_info(transport: DataverseTransport, logical_name: str) -> TableInfo | None:
    """The table's EntityDefinition, None when the org has no such table (404)."""
    if not _LOGICAL_NAME.match(logical_name):
        raise ValueError(f"not a Dataverse logical name: {logical_name!r}")
    path = f"EntityDefinitions(LogicalName='{logical_name}')"
    try:
        body, _ = transport.get_json(
            path,
            operation=f"GET {path}",
            params={
                "$select": "LogicalName,PrimaryIdAttribute,ChangeTrackingEnabled,IsActivity,"
                "EntitySetName"
            },
        )
    except ApiError as error:
        if error.status == 404:
            return None
        raise
    return TableInfo(
        logical_name=str(body["LogicalName"]),
        primary_id=str(body["PrimaryIdAttribute"]),
        change_tracking=bool(body.get("ChangeTrackingEnabled")),
        is_activity=bool(body.get("IsActivity")),
        entity_set=str(body.get("EntitySetName") or ""),
    )


def total_record_count(transport: DataverseTransport, logical_name: str) -> int:
    if not _LOGICAL_NAME.match(logical_name):
        raise ValueError(f"not a Dataverse logical name: {logical_name!r}")
    path = "RetrieveTotalRecordCount(EntityNames=@names)"
    body, _ = transport.get_json(
        path, operation="GET RetrieveTotalRecordCount", params={"@names": f'["{logical_name}"]'}
    )
    counted = body.get("EntityRecordCountCollection") if isinstance(body, dict) else None
    keys = counted.get("Keys") if isinstance(counted, dict) else None
    values = counted.get("Values") if isinstance(counted, dict) else None
    if not isinstance(keys, list) or not isinstance(values, list) or logical_name not in keys:
        raise ApiError(
            f"Dataverse answered RetrieveTotalRecordCount without a count of {logical_name}",
            status=200,
        )
    return int(values[keys.index(logical_name)])
