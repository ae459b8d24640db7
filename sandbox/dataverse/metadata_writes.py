"""Metadata writes of the Dataverse sandbox: `POST EntityDefinitions` (a table with its primary
name column), `POST EntityDefinitions(...)/Attributes` (String, Memo, Boolean, DateTime,
Integer, Picklist with a local option set) and `POST RelationshipDefinitions` (one-to-many
with its `Lookup`), each in the solution the `MSCRM.SolutionUniqueName` header names. What
they create is real at once: rows are written, read and change-tracked through the Web API,
and the metadata reads show it.

Sources: PAD `webapi/create-update-entity-definitions-using-web-api.md` (the body, the
primary name `StringAttributeMetadata` with `IsPrimaryName`, 204 + `OData-EntityId`),
`create-update-column-definitions-using-web-api.md`, `create-update-entity-relationships-
using-web-api.md` (the `@odata.type` is required there), `web-api-metadata-operations-sample.md`.
Error texts are Dataverse's (its SDK error catalogue): DuplicateAttributeSchemaName
`0x80047013` "An attribute with the specified name already exists", the entity's
"An entity with the specified name already exists. Please specify a unique name.",
NoAttributesForEntityCreate, InvalidPrimaryFieldType, the customization prefix message of
ImportAttributeNameError. Codes and wordings not found in the documentation are the
sandbox's (sandbox/README.md lists them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.metadata_bodies import (
    COLUMN_TYPES,
    INVALID_ARGUMENT,
    english_label,
    parse_column,
    parse_options,
    type_name,
)
from sandbox.dataverse.metadata_model import attributes_of, entity_id
from sandbox.dataverse.odata import ODataError, bad_request, unsupported
from sandbox.dataverse.schema import ACTIVE_INACTIVE, Column, Lookup, TableDef, activity_table
from sandbox.dataverse.solutions import all_prefixes, solution_prefix
from sandbox.dataverse.state import ENGLISH, AttributeDef, deterministic_id
from sandbox.dataverse.store import Table

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

CRM = "Microsoft.Dynamics.CRM."
SOLUTION_HEADER = "mscrm.solutionuniquename"
_NAME_KEY = re.compile(r"^\(LogicalName='(?P<name>[a-z0-9_]+)'\)/Attributes$")
_ID_KEY = re.compile(r"^\((?P<id>[0-9a-fA-F-]{36})\)/Attributes$")
_SCHEMA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

DUPLICATE_ATTRIBUTE = "0x80047013"
DUPLICATE_ENTITY = "0x80048403"
DUPLICATE_RELATIONSHIP = "0x80048418"
MISSING_PRIVILEGE = "0x80040220"


def not_in_metadata_cache(name: str) -> ODataError:
    return ODataError(
        404,
        "0x80041102",
        f"The entity with a name = '{name}' with namemapping = 'Logical' was not found in the "
        "MetadataCache.",
    )


class MetadataWrites:
    """Answers metadata `POST`s: `(status, headers)` or raises ODataError."""

    def __init__(self, state: DataverseState) -> None:
        self.state = state

    def handle(
        self,
        resource: str,
        rest: str,
        headers: Mapping[str, str],
        raw_body: bytes,
        api_url: str,
        client_id: str,
    ) -> list[tuple[str, str]]:
        """The `OData-EntityId` header of what was created (the answer is 204)."""
        if self.state.deny_customization:
            user = deterministic_id(self.state.tenant_id, "systemuser", client_id)
            raise ODataError(
                403,
                MISSING_PRIVILEGE,
                f"Principal user (Id={user}, type=8) is missing prvCreateEntity privilege.",
            )
        try:
            body = json.loads(raw_body or b"{}")
        except ValueError:
            raise bad_request("The request body is not valid JSON.", INVALID_ARGUMENT) from None
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", INVALID_ARGUMENT)
        solution = headers.get(SOLUTION_HEADER)
        prefixes = self._prefixes(solution)
        if resource == "RelationshipDefinitions" and rest == "":
            created = self.create_relationship(body, prefixes)
            self._component(solution, "Relationship", str(created["SchemaName"]))
            return [("OData-EntityId", f"{api_url}/RelationshipDefinitions({created_id(created)})")]
        if resource == "EntityDefinitions" and rest == "":
            table = self.create_table(body, prefixes)
            self._component(solution, "Entity", table.logical_name)
            return [("OData-EntityId", f"{api_url}/EntityDefinitions({entity_id(table)})")]
        target = self._attribute_target(rest) if resource == "EntityDefinitions" else None
        if target is None:
            raise ODataError(
                405, "0x80060888", f"POST is not simulated on {resource}{rest} by the sandbox."
            )
        attribute = self.create_column(target, body, prefixes)
        self._component(solution, "Attribute", f"{target.logical_name}.{attribute.logical_name}")
        return [
            (
                "OData-EntityId",
                f"{api_url}/EntityDefinitions({entity_id(target)})/Attributes"
                f"({attribute.metadata_id})",
            )
        ]

    # Solutions --------------------------------------------------------------------------------

    def _prefixes(self, solution: str | None) -> set[str]:
        """The prefixes a new component may carry: the solution's publisher's; without the
        header (the default solution), any publisher's."""
        if solution is None:
            return all_prefixes(self.state)
        prefix = solution_prefix(self.state, solution)
        if prefix is None:
            raise ODataError(
                404, "0x80040217", f"A solution with the unique name '{solution}' does not exist."
            )
        return {prefix}

    def _component(self, solution: str | None, kind: str, name: str) -> None:
        if solution is not None:
            self.state.solution_components.setdefault(solution, []).append((kind, name))

    def _check_name(self, what: str, body: Mapping[str, Any], prefixes: set[str]) -> str:
        """The logical name (lower-case SchemaName) after the prefix check."""
        schema_name = body.get("SchemaName")
        if not isinstance(schema_name, str) or not _SCHEMA_NAME.match(schema_name):
            raise bad_request(f"The {what} SchemaName is missing or not valid.", INVALID_ARGUMENT)
        prefix = schema_name.split("_", 1)[0].lower() if "_" in schema_name else ""
        if prefix not in prefixes:
            raise bad_request(
                f"Invalid name for {what} {schema_name}.  Custom {what} names must start with a "
                "valid customization prefix. The prefix for a solution component should match "
                "the prefix that is specified for the publisher of the solution.",
                "0x80048062",
            )
        return schema_name.lower()

    # Tables -----------------------------------------------------------------------------------

    def create_table(self, body: Mapping[str, Any], prefixes: set[str]) -> TableDef:
        kind = type_name(body)
        if kind not in ("", "EntityMetadata"):
            raise bad_request(f"The type {CRM}{kind} is not an EntityMetadata.", INVALID_ARGUMENT)
        name = self._check_name("entity", body, prefixes)
        if name in self.state.tables:
            raise bad_request(
                "An entity with the specified name already exists. Please specify a unique name.",
                DUPLICATE_ENTITY,
            )
        is_activity = bool(body.get("IsActivity"))
        singular, plural = (
            english_label(body, "DisplayName"),
            english_label(body, "DisplayCollectionName"),
        )
        if singular is None or plural is None:
            raise bad_request("The specified display name is not valid", INVALID_ARGUMENT)
        ownership = body.get("OwnershipType", "UserOwned")
        if ownership not in ("UserOwned", "OrganizationOwned") or (
            is_activity and ownership != "UserOwned"
        ):
            raise bad_request(
                "The specified ownership type mask is not valid for this operation",
                INVALID_ARGUMENT,
            )
        attributes = body.get("Attributes")
        if not isinstance(attributes, list) or not attributes:
            raise bad_request("No attributes for Create Entity action.", INVALID_ARGUMENT)
        primary = [a for a in attributes if isinstance(a, Mapping) and a.get("IsPrimaryName")]
        if len(primary) != 1 or len(attributes) != 1:
            raise bad_request(
                "An entity is created with exactly one attribute, its primary name attribute "
                "(IsPrimaryName true); add other attributes afterwards.",
                INVALID_ARGUMENT,
            )
        if type_name(primary[0]) != "StringAttributeMetadata":
            raise bad_request("Primary UI Attribute has to be of type String", INVALID_ARGUMENT)
        entity_set = str(body.get("EntitySetName") or name + "s")
        if any(t.definition.entity_set == entity_set for t in self.state.tables.values()):
            raise bad_request(
                f"The entity set name {entity_set} is already in use.", DUPLICATE_ENTITY
            )
        if is_activity:
            return self._create_activity(name, entity_set, body, primary[0], (singular, plural))
        primary_name = self._check_name("attribute", primary[0], prefixes)
        primary_column = parse_column(primary_name, "string", primary[0])
        primary_id = f"{name}id"
        columns = [
            Column(primary_id, "guid"),
            Column("createdon", "datetime", read_only=True),
            Column("modifiedon", "datetime", read_only=True),
            Column("versionnumber", "bigint", read_only=True),
            Column("createdby", "lookup", read_only=True),
            *([Column("ownerid", "lookup", read_only=True)] if ownership == "UserOwned" else []),
            primary_column,
            Column("statecode", "state"),
            Column("statuscode", "status"),
        ]
        table = TableDef(
            logical_name=name,
            entity_set=entity_set,
            primary_id=primary_id,
            primary_name=primary_name,
            columns={c.name: c for c in columns},
            states=dict(ACTIVE_INACTIVE),
            default_status={0: 1, 1: 2},
            change_tracking=bool(body.get("ChangeTrackingEnabled", False)),
            display=(singular, plural),
        )
        self.state.tables[name] = Table(table)
        # Column metadata with the labels given (the derived list names columns by name).
        listed = attributes_of(self.state, table)
        for attribute in listed:
            if attribute.logical_name == primary_name:
                attribute.labels = self._labels(primary[0], primary_name)
                attribute.schema_name = str(primary[0]["SchemaName"])
        self.state.attributes[name] = listed
        return table

    def _create_activity(
        self,
        name: str,
        entity_set: str,
        body: Mapping[str, Any],
        primary: Mapping[str, Any],
        display: tuple[str, str],
    ) -> TableDef:
        """A custom activity table: activitypointer's columns (`activityid`, `subject`,
        `regardingobjectid` to contact, lead and account), its primary name `subject`."""
        if str(primary.get("SchemaName", "")).lower() != "subject":
            raise bad_request(
                "The primary attribute of an activity entity must be Subject.", INVALID_ARGUMENT
            )
        if body.get("HasActivities"):
            raise bad_request("An activity entity cannot have activities.", INVALID_ARGUMENT)
        table = replace(
            activity_table(name, entity_set),
            change_tracking=bool(body.get("ChangeTrackingEnabled", False)),
            display=display,
        )
        table.columns["subject"] = parse_column("subject", "string", primary)
        self.state.tables[name] = Table(table)
        listed = attributes_of(self.state, table)
        for attribute in listed:
            if attribute.logical_name == "subject":
                attribute.labels = self._labels(primary, "subject")
                attribute.schema_name = "Subject"
        self.state.attributes[name] = listed
        return table

    # Columns ----------------------------------------------------------------------------------

    def _attribute_target(self, rest: str) -> TableDef | None:
        by_name, by_id = _NAME_KEY.match(rest), _ID_KEY.match(rest)
        if by_name is None and by_id is None:
            return None
        for table in self.state.tables.values():
            definition = table.definition
            if (by_name and definition.logical_name == by_name["name"]) or (
                by_id and entity_id(definition) == by_id["id"].lower()
            ):
                return definition
        if by_name is not None:
            raise not_in_metadata_cache(by_name["name"])
        raise ODataError(404, "0x80040217", f"Could not find an entity with MetadataId = {rest}.")

    def _labels(self, body: Mapping[str, Any], fallback: str) -> dict[int, str]:
        return {ENGLISH: english_label(body, "DisplayName") or fallback}

    def _add_column(self, table: TableDef, column: Column, attribute: AttributeDef) -> AttributeDef:
        if "statecode" in table.columns:  # keep state and status last, as the tables list them
            tail = {k: table.columns.pop(k) for k in ("statecode", "statuscode")}
            table.columns[column.name] = column
            table.columns.update(tail)
        else:
            table.columns[column.name] = column
        listed = self.state.attributes.get(table.logical_name)
        if listed is not None:  # explicit metadata; other tables derive theirs from columns
            listed.append(attribute)
        return attribute

    def create_column(
        self, table: TableDef, body: Mapping[str, Any], prefixes: set[str]
    ) -> AttributeDef:
        kind_name = type_name(body)
        if kind_name == "LookupAttributeMetadata":
            raise bad_request(
                "A lookup attribute is created with its relationship: POST a "
                "OneToManyRelationshipMetadata with it as Lookup to RelationshipDefinitions.",
                INVALID_ARGUMENT,
            )
        if kind_name not in COLUMN_TYPES:
            raise bad_request(
                f"The attribute type {CRM}{kind_name or '(none: @odata.type is required)'} is "
                f"not supported by the sandbox ({', '.join(COLUMN_TYPES)}).",
                INVALID_ARGUMENT,
            )
        kind, attribute_type = COLUMN_TYPES[kind_name]
        given_type = body.get("AttributeType")
        if given_type is not None and given_type != attribute_type:
            raise bad_request(
                f"AttributeType {given_type} does not match {CRM}{kind_name}.", INVALID_ARGUMENT
            )
        name = self._check_name("attribute", body, prefixes)
        existing = {a.logical_name for a in attributes_of(self.state, table)}
        if name in table.columns or name in existing:
            raise bad_request(
                "An attribute with the specified name already exists", DUPLICATE_ATTRIBUTE
            )
        column = parse_column(name, kind, body)
        options = parse_options(name, kind, body)
        if kind == "picklist":
            self.state.option_sets[(table.logical_name, name)] = options
        attribute = AttributeDef(
            entity=table.logical_name,
            logical_name=name,
            attribute_type=attribute_type,
            labels=self._labels(body, name),
            is_custom=True,
            schema_name=str(body["SchemaName"]),
        )
        return self._add_column(table, column, attribute)

    # Relationships ----------------------------------------------------------------------------

    def create_relationship(self, body: Mapping[str, Any], prefixes: set[str]) -> dict[str, Any]:
        kind = type_name(body)
        if kind == "ManyToManyRelationshipMetadata":
            raise unsupported("Creating a many-to-many relationship")
        if kind != "OneToManyRelationshipMetadata":
            raise bad_request(
                "RelationshipDefinitions needs @odata.type "
                f"{CRM}OneToManyRelationshipMetadata (got '{body.get('@odata.type')}').",
                INVALID_ARGUMENT,
            )
        schema_name = self._check_name("relationship", body, prefixes)
        if any(r["SchemaName"].lower() == schema_name for r in self.state.relationships.values()):
            raise bad_request(
                "A relationship with the specified name already exists.", DUPLICATE_RELATIONSHIP
            )
        referenced = self._table(body.get("ReferencedEntity"))
        referencing = self._table(body.get("ReferencingEntity"))
        if body.get("ReferencedAttribute", referenced.primary_id) != referenced.primary_id:
            raise bad_request(
                f"ReferencedAttribute must be {referenced.primary_id}, the primary key of "
                f"{referenced.logical_name}.",
                INVALID_ARGUMENT,
            )
        lookup = body.get("Lookup")
        if not isinstance(lookup, Mapping) or type_name(lookup) not in (
            "",
            "LookupAttributeMetadata",
        ):
            raise bad_request(
                "The relationship needs its Lookup (a LookupAttributeMetadata).", INVALID_ARGUMENT
            )
        column_name = self._check_name("attribute", lookup, prefixes)
        if column_name in referencing.columns:
            raise bad_request(
                "An attribute with the specified name already exists", DUPLICATE_ATTRIBUTE
            )
        navigation = str(body.get("ReferencingEntityNavigationPropertyName") or column_name)
        self._add_column(
            referencing,
            Column(column_name, "lookup"),
            AttributeDef(
                entity=referencing.logical_name,
                logical_name=column_name,
                attribute_type="Lookup",
                labels=self._labels(lookup, column_name),
                is_custom=True,
                schema_name=str(lookup["SchemaName"]),
                targets=(referenced.logical_name,),
            ),
        )
        referencing.lookups[navigation] = Lookup(navigation, column_name, referenced.logical_name)
        created = {
            "SchemaName": str(body["SchemaName"]),
            "ReferencedEntity": referenced.logical_name,
            "ReferencedAttribute": referenced.primary_id,
            "ReferencingEntity": referencing.logical_name,
            "ReferencingAttribute": column_name,
            "ReferencingEntityNavigationPropertyName": navigation,
        }
        self.state.relationships[created["SchemaName"]] = created
        return created

    def _table(self, name: Any) -> TableDef:
        table = self.state.tables.get(str(name)) if isinstance(name, str) else None
        if table is None:
            raise not_in_metadata_cache(str(name))
        return table.definition


def created_id(relationship: Mapping[str, Any]) -> str:
    return deterministic_id("RelationshipDefinitions", str(relationship["SchemaName"]))
