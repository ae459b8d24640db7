"""Table, column and choice definitions as the Web API serializes them (EntityMetadata,
AttributeMetadata casts, OptionSetMetadata), built from the sandbox's table definitions.

Shapes follow PAD `webapi/query-metadata-web-api.md` and `retrieve-metadata-name-metadataid.md`
(Label, BooleanManagedProperty, OptionMetadata keys in the documented order). Every
MetadataId is a name-based UUID, so it is the same for a table or column across resets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.state import ENGLISH, LOOKUP_TARGETS, AttributeDef, deterministic_id

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

# Display names (singular, plural) of the standard tables, as the product UI shows them.
_TABLE_LABELS: dict[str, tuple[str, str]] = {
    "account": ("Account", "Accounts"),
    "contact": ("Contact", "Contacts"),
    "lead": ("Lead", "Leads"),
    "list": ("Marketing List", "Marketing Lists"),
    "listmember": ("Marketing List Member", "Marketing List Members"),
    "annotation": ("Note", "Notes"),
    "task": ("Task", "Tasks"),
    "phonecall": ("Phone Call", "Phone Calls"),
}

# Choices of the seeded picklist columns: (table, column) -> [(value, English label)].
# accountcategorycode is the documented example (retrieve-metadata-name-metadataid.md).
OPTIONS: dict[tuple[str, str], list[tuple[int, str]]] = {
    ("account", "accountcategorycode"): [(1, "Preferred Customer"), (2, "Standard")],
    ("account", "industrycode"): [(1, "Accounting"), (2, "Agriculture"), (3, "Consulting")],
    ("contact", "gendercode"): [(1, "Male"), (2, "Female")],
    ("contact", "preferredcontactmethodcode"): [
        (1, "Any"),
        (2, "Email"),
        (3, "Phone"),
        (4, "Fax"),
        (5, "Mail"),
    ],
    ("lead", "leadsourcecode"): [
        (1, "Advertisement"),
        (2, "Employee Referral"),
        (3, "External Referral"),
        (4, "Partner"),
        (5, "Public Relations"),
        (6, "Seminar"),
        (7, "Trade Show"),
        (8, "Web"),
        (9, "Word of Mouth"),
        (10, "Other"),
    ],
}

# Date-only columns; every other DateTime column is UserLocal / DateAndTime.
DATE_ONLY = frozenset({("contact", "birthdate")})

# EntityMetadata properties the sandbox serves ($select and $filter on primitive ones).
ENTITY_PROPERTIES = (
    "LogicalName",
    "SchemaName",
    "EntitySetName",
    "LogicalCollectionName",
    "PrimaryIdAttribute",
    "PrimaryNameAttribute",
    "IsActivity",
    "IsCustomEntity",
    "IsKnowledgeManagementEnabled",
    "ChangeTrackingEnabled",
    "CanChangeTrackingBeEnabled",
    "DisplayName",
    "DisplayCollectionName",
)
OPTION_SET_PROPERTIES = ("Options", "Name", "IsGlobal", "IsCustomOptionSet", "OptionSetType")
DATETIME_PROPERTIES = ("DateTimeBehavior", "Format")

_KIND_TYPES = {
    "string": "String",
    "memo": "Memo",
    "int": "Integer",
    "bigint": "BigInt",
    "bool": "Boolean",
    "decimal": "Decimal",
    "datetime": "DateTime",
    "guid": "Uniqueidentifier",
    "picklist": "Picklist",
    "state": "State",
    "status": "Status",
    "lookup": "Lookup",
}


def label(text: str | None, managed: bool, *id_parts: str, language: int) -> dict[str, Any]:
    """A Label complex type; `LocalizedLabels: []` and a null user label when there is none."""
    if text is None:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {
        "Label": text,
        "LanguageCode": ENGLISH,
        "IsManaged": managed,
        "MetadataId": deterministic_id(*id_parts, str(ENGLISH)),
        "HasChanged": None,
    }
    return {
        "LocalizedLabels": [localized],
        "UserLocalizedLabel": dict(localized) if language == ENGLISH else None,
    }


def is_custom(table: TableDef) -> bool:
    return "_" in table.logical_name  # custom tables carry a publisher prefix (new_...)


def entity_id(table: TableDef) -> str:
    return deterministic_id("EntityDefinitions", table.logical_name)


def entity_values(table: TableDef, language: int) -> dict[str, Any]:
    name = table.logical_name
    custom = is_custom(table)
    singular, plural = table.display or _TABLE_LABELS.get(name, (name, table.entity_set))
    return {
        "LogicalName": name,
        "SchemaName": name if custom else name.capitalize(),
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "IsActivity": table.is_activity,
        "IsCustomEntity": custom,
        "IsKnowledgeManagementEnabled": False,
        "ChangeTrackingEnabled": table.change_tracking,
        # Every sandbox table could be tracked; the flag itself is managed (not changeable).
        "CanChangeTrackingBeEnabled": {
            "Value": True,
            "CanBeChanged": False,
            "ManagedPropertyLogicalName": "canchangetrackingbeenabled",
        },
        "DisplayName": label(singular, not custom, name, "DisplayName", language=language),
        "DisplayCollectionName": label(
            plural, not custom, name, "DisplayCollectionName", language=language
        ),
    }


def entity_json(table: TableDef, select: Sequence[str], language: int) -> dict[str, Any]:
    """Selected properties in `$select` order, then MetadataId (query-metadata-web-api.md)."""
    values = entity_values(table, language)
    body = {name: values[name] for name in (select or ENTITY_PROPERTIES) if name != "MetadataId"}
    body["MetadataId"] = entity_id(table)
    return body


def attributes_of(state: DataverseState, table: TableDef) -> list[AttributeDef]:
    """The seeded column metadata (contact, lead, account), else columns derived from the
    table definition (marketing lists, notes, activities, custom tables)."""
    seeded = state.attributes.get(table.logical_name)
    if seeded is not None:
        return list(seeded)
    derived = []
    for column in table.columns.values():
        kind = _KIND_TYPES.get(column.kind, "String")
        if column.name == "ownerid":
            kind = "Owner"
        derived.append(
            AttributeDef(
                entity=table.logical_name,
                logical_name=column.name,
                attribute_type=kind,
                labels={ENGLISH: column.name},
                is_custom=is_custom(table) or column.name.startswith("dms_"),
                targets=LOOKUP_TARGETS.get(column.name, ()) if kind == "Lookup" else (),
            )
        )
    return derived


def _option_ids(attribute: AttributeDef, value: int) -> tuple[str, str, str]:
    return (attribute.entity, attribute.logical_name, str(value))


def option_set_id(attribute: AttributeDef) -> str:
    return deterministic_id(attribute.entity, attribute.logical_name, "OptionSet")


def option_set_json(
    attribute: AttributeDef,
    select: Sequence[str],
    language: int,
    created: dict[tuple[str, str], list[tuple[int, str]]] | None = None,
) -> dict[str, Any]:
    """OptionSetMetadata: MetadataId first, as in retrieve-metadata-name-metadataid.md.
    `created`: the state's option sets of columns added by a solution or a metadata write."""
    key = (attribute.entity, attribute.logical_name)
    managed = not attribute.is_custom
    options: list[dict[str, Any]] = [
        {
            "Value": value,
            "Color": None,
            "IsManaged": managed,
            "ExternalValue": None,
            "ParentValues": [],
            "Tag": None,
            "IsHidden": False,
            "MetadataId": None,
            "HasChanged": None,
            "Label": label(text, managed, *_option_ids(attribute, value), language=language),
            "Description": label(None, managed, language=language),
        }
        for value, text in (created or {}).get(key) or OPTIONS.get(key, [])
    ]
    values: dict[str, Any] = {
        "Options": options,
        "Name": f"{attribute.entity}_{attribute.logical_name}",
        "IsGlobal": False,
        "IsCustomOptionSet": attribute.is_custom,
        "OptionSetType": "Picklist",
    }
    body: dict[str, Any] = {"MetadataId": option_set_id(attribute)}
    for name in select or OPTION_SET_PROPERTIES:
        if name != "MetadataId":
            body[name] = values[name]
    return body


def datetime_values(attribute: AttributeDef) -> dict[str, Any]:
    date_only = (attribute.entity, attribute.logical_name) in DATE_ONLY
    return {
        "DateTimeBehavior": {"Value": "DateOnly" if date_only else "UserLocal"},
        "Format": "DateOnly" if date_only else "DateAndTime",
    }


def service_entity_sets(state: DataverseState) -> list[str]:
    """The entity sets the service document lists: every table plus the metadata set the
    sandbox serves, sorted like the documented sample (web-api-service-documents.md)."""
    names = [table.definition.entity_set for table in state.tables.values()]
    return sorted([*names, "EntityDefinitions", "RelationshipDefinitions"], key=str.lower)


def who_am_i_ids(state: DataverseState, client_id: str) -> dict[str, str]:
    """WhoAmIResponse: the application user of the calling app, its business unit and the
    organization; name-based ids, stable for a tenant and app."""
    return {
        "BusinessUnitId": deterministic_id(state.tenant_id, "businessunit"),
        "UserId": deterministic_id(state.tenant_id, "systemuser", client_id),
        "OrganizationId": deterministic_id(state.tenant_id, "organization"),
    }
