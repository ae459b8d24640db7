"""Metadata writes: create a table, a column or a one-to-many relationship (with its lookup
column) from the connector's definitions (shared/dynamics_schema), each in a solution
(`MSCRM.SolutionUniqueName`); and the reads that tell what already exists (tables, columns,
publishers, solutions).

Shapes: PAD `webapi/create-update-entity-definitions-using-web-api.md` (an EntityMetadata
with exactly its primary name StringAttributeMetadata in `Attributes`),
`create-update-column-definitions-using-web-api.md` (one `@odata.type` per column type;
Boolean carries its TrueOption/FalseOption, Picklist a local option set),
`create-update-entity-relationships-using-web-api.md` (OneToManyRelationshipMetadata with
the LookupAttributeMetadata as `Lookup`), `web-api-metadata-operations-sample.md` (publisher
and solution rows). Every write answers 204 with `OData-EntityId`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.clients.dataverse import metadata, writes
from shared.clients.dataverse.odata import check_name, query_string
from shared.clients.dataverse.transport import DataverseApiError, DataverseTransport
from shared.dynamics_schema import ColumnDef, Kind, TableDefinition

CRM = "Microsoft.Dynamics.CRM."
ENGLISH = 1033
SOLUTION_HEADER = "MSCRM.SolutionUniqueName"
# "already exists" answers (DuplicateAttributeSchemaName, EntityAlreadyExists,
# RelationshipAlreadyExists): a write resent after a lost answer finds its own work done.
ALREADY_EXISTS = frozenset({"0x80047013", "0x80048403", "0x80048418"})

_TYPES: dict[Kind, tuple[str, str]] = {
    Kind.STRING: ("StringAttributeMetadata", "StringType"),
    Kind.MEMO: ("MemoAttributeMetadata", "MemoType"),
    Kind.BOOLEAN: ("BooleanAttributeMetadata", "BooleanType"),
    Kind.DATETIME: ("DateTimeAttributeMetadata", "DateTimeType"),
    Kind.INTEGER: ("IntegerAttributeMetadata", "IntegerType"),
    Kind.PICKLIST: ("PicklistAttributeMetadata", "PicklistType"),
    Kind.LOOKUP: ("LookupAttributeMetadata", "LookupType"),
}
# What the metadata reads call each kind (AttributeType).
ATTRIBUTE_TYPES: dict[Kind, str] = {kind: name.removesuffix("Type") for kind, (_, name) in
                                    _TYPES.items()}  # fmt: skip


@dataclass(frozen=True)
class Publisher:
    id: str
    unique_name: str
    prefix: str


@dataclass(frozen=True)
class Solution:
    id: str
    unique_name: str
    publisher_id: str | None


def label(text: str) -> dict[str, Any]:
    """A Label: only `LocalizedLabels` is set on writes (UserLocalizedLabel is read-only)."""
    return {
        "@odata.type": f"{CRM}Label",
        "LocalizedLabels": [
            {"@odata.type": f"{CRM}LocalizedLabel", "Label": text, "LanguageCode": ENGLISH}
        ],
    }


def _required(column: ColumnDef) -> dict[str, Any]:
    return {
        "Value": "ApplicationRequired" if column.required else "None",
        "CanBeChanged": True,
        "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
    }


def column_body(column: ColumnDef, *, primary_name: bool = False) -> dict[str, Any]:
    """The AttributeMetadata of one column (not a lookup: see relationship_body)."""
    odata_type, type_name = _TYPES[column.kind]
    body: dict[str, Any] = {
        "@odata.type": CRM + odata_type,
        "AttributeType": ATTRIBUTE_TYPES[column.kind],
        "AttributeTypeName": {"Value": type_name},
        # Schema names are the logical names: they already carry the prefix and Dataverse
        # lower-cases a schema name into the logical name.
        "SchemaName": column.logical_name,
        "DisplayName": label(column.label),
        "Description": label(column.description or column.label),
        "RequiredLevel": _required(column),
    }
    if column.kind is Kind.STRING:
        body.update(MaxLength=column.max_length, FormatName={"Value": "Text"})
    elif column.kind is Kind.MEMO:
        body.update(MaxLength=column.max_length, Format="TextArea")
    elif column.kind is Kind.BOOLEAN:
        body.update(
            DefaultValue=False,
            OptionSet={
                "@odata.type": f"{CRM}BooleanOptionSetMetadata",
                "TrueOption": {"Value": 1, "Label": label("Yes")},
                "FalseOption": {"Value": 0, "Label": label("No")},
                "OptionSetType": "Boolean",
            },
        )
    elif column.kind is Kind.DATETIME:
        body.update(Format="DateAndTime", DateTimeBehavior={"Value": "UserLocal"})
    elif column.kind is Kind.INTEGER:
        body.update(Format="None", MinValue=-2_147_483_648, MaxValue=2_147_483_647)
    elif column.kind is Kind.PICKLIST:
        body["OptionSet"] = {
            "@odata.type": f"{CRM}OptionSetMetadata",
            "IsGlobal": False,
            "OptionSetType": "Picklist",
            "Options": [{"Value": o.value, "Label": label(o.label)} for o in column.options],
        }
    elif column.kind is Kind.LOOKUP:
        raise ValueError(f"{column.logical_name} is a lookup: create it with its relationship")
    if primary_name:
        body["IsPrimaryName"] = True
    return body


def table_body(table: TableDefinition) -> dict[str, Any]:
    """EntityMetadata with only the primary name column (the others are added one by one)."""
    return {
        "@odata.type": f"{CRM}EntityMetadata",
        "SchemaName": table.logical_name,
        "EntitySetName": table.entity_set,
        "DisplayName": label(table.display_name),
        "DisplayCollectionName": label(table.plural_name),
        "Description": label(table.description),
        # Organization-owned: the rows belong to the connector, not to a user or team. An
        # activity table must be user-owned, and an activity cannot have activities.
        "OwnershipType": "UserOwned" if table.activity else "OrganizationOwned",
        "IsActivity": table.activity,
        "HasActivities": False,
        "HasNotes": False,
        # The sync types read these tables' increments through delta links.
        "ChangeTrackingEnabled": True,
        "Attributes": [column_body(table.primary_name, primary_name=True)],
    }


def relationship_name(table: str, column: ColumnDef) -> str:
    """`<table>_<lookup>`: unique per lookup, and it starts with the publisher prefix."""
    return f"{table}_{column.logical_name}"


def relationship_body(table: str, column: ColumnDef) -> dict[str, Any]:
    if column.kind is not Kind.LOOKUP or column.target is None:
        raise ValueError(f"{column.logical_name} is not a lookup column")
    odata_type, type_name = _TYPES[Kind.LOOKUP]
    return {
        "@odata.type": f"{CRM}OneToManyRelationshipMetadata",
        "SchemaName": relationship_name(table, column),
        "ReferencedEntity": column.target,
        "ReferencedAttribute": f"{column.target}id",
        "ReferencingEntity": table,
        # The contract: the navigation property is the lookup's logical name.
        "ReferencingEntityNavigationPropertyName": column.logical_name,
        # Deleting a contact or list keeps the connector's row and clears the link.
        "CascadeConfiguration": {
            "Assign": "NoCascade",
            "Delete": "RemoveLink",
            "Merge": "NoCascade",
            "Reparent": "NoCascade",
            "Share": "NoCascade",
            "Unshare": "NoCascade",
        },
        "Lookup": {
            "@odata.type": CRM + odata_type,
            "AttributeType": "Lookup",
            "AttributeTypeName": {"Value": type_name},
            "SchemaName": column.logical_name,
            "DisplayName": label(column.label),
            "Description": label(column.description or column.label),
            "RequiredLevel": _required(column),
        },
    }


def _post(
    transport: DataverseTransport, target: str, body: Mapping[str, Any], solution: str
) -> bool:
    """POST one definition; False when Dataverse says it already exists (a resent write)."""
    try:
        transport.send(
            "POST",
            target,
            operation=f"POST {target}",
            json_body=dict(body),
            headers={SOLUTION_HEADER: solution},
        )
    except DataverseApiError as error:
        if error.code in ALREADY_EXISTS:
            return False
        raise
    return True


def create_table(transport: DataverseTransport, table: TableDefinition, solution: str) -> bool:
    return _post(transport, "EntityDefinitions", table_body(table), solution)


def create_column(
    transport: DataverseTransport, table: str, column: ColumnDef, solution: str
) -> bool:
    check_name(table, "table")
    target = f"EntityDefinitions(LogicalName='{table}')/Attributes"
    return _post(transport, target, column_body(column), solution)


def create_lookup(
    transport: DataverseTransport, table: str, column: ColumnDef, solution: str
) -> bool:
    return _post(transport, "RelationshipDefinitions", relationship_body(table, column), solution)


# What exists -----------------------------------------------------------------------------------


def table_names(transport: DataverseTransport) -> set[str]:
    """Every table's logical name (metadata is not paged)."""
    body, _ = transport.get_json(
        "EntityDefinitions", operation="GET EntityDefinitions", params={"$select": "LogicalName"}
    )
    return {str(item["LogicalName"]) for item in body.get("value", [])}


def column_types(transport: DataverseTransport, table: str) -> dict[str, str]:
    """Column logical name -> AttributeType."""
    return {a.logical_name: a.attribute_type for a in metadata.entity_attributes(transport, table)}


def find_publisher(transport: DataverseTransport, prefix: str) -> Publisher | None:
    check_name(prefix, "customization prefix")
    query = query_string(
        [
            ("$select", "publisherid,uniquename,customizationprefix"),
            ("$filter", f"customizationprefix eq '{prefix}'"),
        ]
    )
    body, _ = transport.get_json(f"publishers?{query}", operation="GET publishers")
    for item in body.get("value", []):
        return Publisher(str(item["publisherid"]), str(item["uniquename"]), prefix)
    return None


def find_solution(transport: DataverseTransport, unique_name: str) -> Solution | None:
    if "'" in unique_name:
        raise ValueError(f"not a solution unique name: {unique_name!r}")
    query = query_string(
        [
            ("$select", "solutionid,uniquename,_publisherid_value"),
            ("$filter", f"uniquename eq '{unique_name}'"),
        ]
    )
    body, _ = transport.get_json(f"solutions?{query}", operation="GET solutions")
    for item in body.get("value", []):
        publisher = item.get("_publisherid_value")
        return Solution(
            str(item["solutionid"]), str(item["uniquename"]), str(publisher) if publisher else None
        )
    return None


def publisher_prefix(transport: DataverseTransport, publisher_id: str) -> str | None:
    row = writes.retrieve(transport, "publishers", publisher_id, ["customizationprefix"])
    return None if row is None else str(row.get("customizationprefix") or "")


def create_publisher(
    transport: DataverseTransport, unique_name: str, prefix: str, option_value_prefix: int
) -> str:
    created = writes.create(
        transport,
        "publishers",
        {
            "uniquename": unique_name,
            "friendlyname": "Dynamics Marketing Sync",
            "description": "Publisher of the Dynamics Marketing Sync connector's tables.",
            "customizationprefix": prefix,
            "customizationoptionvalueprefix": option_value_prefix,
        },
    )
    return created.id


def create_solution(transport: DataverseTransport, unique_name: str, publisher_id: str) -> str:
    created = writes.create(
        transport,
        "solutions",
        {
            "uniquename": unique_name,
            "friendlyname": "Dynamics Marketing Sync",
            "description": "The Dynamics Marketing Sync connector's tables and columns.",
            "version": "1.0.0.0",
            "publisherid@odata.bind": f"/publishers({publisher_id})",
        },
    )
    return created.id
