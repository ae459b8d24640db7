"""The `EntityDefinitions` resources of the Dataverse sandbox: tables as a collection or one by
`(LogicalName='x')` / MetadataId, their `Attributes` (also one column, and the Picklist and
DateTime casts with `OptionSet` / `GlobalOptionSet`), with `$select`, `$filter` and `$expand`.

Sources: PAD `webapi/query-metadata-web-api.md` ("MetadataId property value is always
returned", no paging), `retrieve-metadata-name-metadataid.md` (keys by name or MetadataId, the
Picklist cast sample). What the sandbox does not simulate answers 400, never silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.metadata_model import (
    DATETIME_PROPERTIES,
    ENTITY_PROPERTIES,
    OPTION_SET_PROPERTIES,
    attributes_of,
    datetime_values,
    entity_id,
    entity_json,
    entity_values,
    option_set_json,
)
from sandbox.dataverse.odata import ODataError, bad_request, split_top_level
from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.state import ATTRIBUTE_PROPERTIES, AttributeDef

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

CRM = "Microsoft.Dynamics.CRM."
CASTS = ("PicklistAttributeMetadata", "DateTimeAttributeMetadata")
_PATH = re.compile(
    r"^(?:\((?P<entity>[^)]*)\))?"
    r"(?:/Attributes(?:\((?P<attribute>[^)]*)\))?"
    r"(?:/Microsoft\.Dynamics\.CRM\.(?P<cast>\w+))?"
    r"(?:/(?P<navigation>OptionSet|GlobalOptionSet))?)?$"
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_NAME_KEY = re.compile(r"^LogicalName='(?P<name>[^']*)'$")
_FILTER = re.compile(r"^\s*(?P<property>\w+)\s+eq\s+(?P<value>.+?)\s*$")
_STRING_LITERAL = re.compile(r"^'(?P<value>(?:[^']|'')*)'$")
_ENUM_LITERAL = re.compile(r"^Microsoft\.Dynamics\.CRM\.\w+'(?P<value>[^']*)'$")


@dataclass(frozen=True)
class Expansion:
    name: str
    options: dict[str, str]


def _not_found_property(name: str, metadata_type: str) -> ODataError:
    return bad_request(f"Could not find a property named '{name}' on type '{CRM}{metadata_type}'.")


def _select(raw: str | None, allowed: Sequence[str], metadata_type: str) -> tuple[str, ...]:
    """`$select` names in request order (MetadataId included: it names the context, and it is
    returned whether selected or not); () when there is no `$select`."""
    names = tuple(n.strip() for n in (raw or "").split(",") if n.strip())
    for name in names:
        if name not in allowed and name != "MetadataId":
            raise _not_found_property(name, metadata_type)
    return names


def _split_top(text: str, separator: str) -> list[str]:
    """The non-empty items of `text` split on `separator` outside parentheses and quotes."""
    return [part.strip() for part in split_top_level(text, separator) if part.strip()]


def _expand(raw: str | None, allowed: Sequence[str], metadata_type: str) -> list[Expansion]:
    expansions = []
    for item in _split_top(raw or "", ","):
        name, _, rest = item.partition("(")
        if name not in allowed:
            raise _not_found_property(name, metadata_type)
        options: dict[str, str] = {}
        for option in _split_top(rest.removesuffix(")"), ";") if rest else []:
            key, _, value = option.partition("=")
            options[key.strip()] = value
        expansions.append(Expansion(name, options))
    return expansions


def _context_select(select: Sequence[str], expansions: Sequence[Expansion]) -> str:
    """`(a,b,Nav(c))` as in `@odata.context`, or "" when nothing narrows the shape."""
    parts = list(select)
    for expansion in expansions:
        inner = expansion.options.get("$select")
        parts.append(f"{expansion.name}({inner})" if inner else expansion.name)
    return f"({','.join(parts)})" if parts else ""


def _filter(raw: str | None, values_of: Any, allowed: Sequence[str], metadata_type: str) -> Any:
    """One `Property eq literal` comparison (string, boolean, or an enum literal with its
    namespace); a predicate over the item's property values. Anything richer is refused."""
    if raw is None:
        return lambda _item: True
    refused = bad_request(
        f"The $filter '{raw}' is not supported by the sandbox on metadata: it accepts one "
        "'Property eq value' comparison with a string, boolean or enum literal."
    )
    match = _FILTER.match(raw)
    if match is None:
        raise refused
    name, literal = match["property"], match["value"]
    if name not in allowed:
        raise _not_found_property(name, metadata_type)
    expected: object
    enum, string = _ENUM_LITERAL.match(literal), _STRING_LITERAL.match(literal)
    if literal in ("true", "false"):
        expected = literal == "true"
    elif enum is not None:
        expected = enum["value"]
    elif string is not None:
        expected = string["value"].replace("''", "'")
    else:
        raise refused
    return lambda item: values_of(item).get(name) == expected


def _only(query: Sequence[tuple[str, str]], allowed: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for key, value in query:
        if key not in allowed:
            raise bad_request(f"The query parameter {key} is not supported by the sandbox.")
        options[key] = value
    return options


class MetadataApi:
    """Answers `EntityDefinitions...` requests: `(status, body)` or raises ODataError."""

    def __init__(self, state: DataverseState) -> None:
        self.state = state

    def handle(self, rest: str, query: Sequence[tuple[str, str]], api_url: str) -> dict[str, Any]:
        match = _PATH.match(rest)
        if match is None:
            raise ODataError(
                404, "0x8006088a", f"Resource not found for the segment '{rest.lstrip('/')}'."
            )
        entity_key, attribute_key = match["entity"], match["attribute"]
        cast, navigation = match["cast"], match["navigation"]
        context = f"{api_url}/$metadata#EntityDefinitions"
        if entity_key is None:
            if "/Attributes" in rest:
                raise ODataError(
                    404, "0x8006088a", "Resource not found for the segment 'Attributes'."
                )
            return self.tables(query, context)
        table = self._table(entity_key)
        key_text = f"('{table.logical_name}')" if _NAME_KEY.match(entity_key) else f"({entity_key})"
        if "/Attributes" not in rest:
            return self.table(table, query, context)
        if cast is not None and cast not in CASTS:
            raise bad_request(
                f"The cast to {CRM}{cast} is not supported by the sandbox (it serves "
                f"{', '.join(CASTS)} and LookupAttributeMetadata on the attributes collection)."
            )
        if navigation is not None and cast != "PicklistAttributeMetadata":
            raise ODataError(
                404, "0x8006088a", f"Resource not found for the segment '{navigation}'."
            )
        attributes = attributes_of(self.state, table)
        if attribute_key is None:
            return self.attributes(table, attributes, cast, query, f"{context}{key_text}")
        attribute = self._attribute(table, attributes, attribute_key)
        if cast is not None and attribute.attribute_type != cast.removesuffix("AttributeMetadata"):
            raise ODataError(
                404,
                "0x8006088a",
                f"The attribute {attribute.logical_name} is not a {CRM}{cast}.",
            )
        if navigation is not None:
            return self.option_set(attribute, navigation, query, context, key_text)
        return self.attribute(table, attribute, cast, query, context)

    # Tables -----------------------------------------------------------------------------------

    def _table(self, key: str) -> TableDef:
        name = _NAME_KEY.match(key)
        for table in self.state.tables.values():
            definition = table.definition
            if (name and definition.logical_name == name["name"]) or (
                not name and _GUID.match(key) and entity_id(definition) == key.lower()
            ):
                return definition
        if name:
            raise ODataError(
                404,
                "0x80041102",
                f"The entity with a name = '{name['name']}' with namemapping = 'Logical' was "
                "not found in the MetadataCache.",
            )
        if not _GUID.match(key):
            raise bad_request(f"The key in the request URI is not valid: ({key}).")
        raise ODataError(
            404, "0x80040217", f"Could not find an entity with MetadataId = {key.lower()}."
        )

    def tables(self, query: Sequence[tuple[str, str]], context: str) -> dict[str, Any]:
        options = _only(query, ("$select", "$filter", "$expand"))
        select = _select(options.get("$select"), ENTITY_PROPERTIES, "EntityMetadata")
        expansions = _expand(options.get("$expand"), ("Attributes",), "EntityMetadata")
        language = self.state.user_language
        keep = _filter(
            options.get("$filter"),
            lambda t: entity_values(t, language),
            ENTITY_PROPERTIES,
            "EntityMetadata",
        )
        tables = sorted(
            (t.definition for t in self.state.tables.values()), key=lambda t: t.logical_name
        )
        return {
            "@odata.context": context + _context_select(select, expansions),
            "value": [self._table_json(t, select, expansions) for t in tables if keep(t)],
        }

    def table(
        self, table: TableDef, query: Sequence[tuple[str, str]], context: str
    ) -> dict[str, Any]:
        options = _only(query, ("$select", "$expand"))
        select = _select(options.get("$select"), ENTITY_PROPERTIES, "EntityMetadata")
        expansions = _expand(options.get("$expand"), ("Attributes",), "EntityMetadata")
        return {
            "@odata.context": f"{context}{_context_select(select, expansions)}/$entity",
            **self._table_json(table, select, expansions),
        }

    def _table_json(
        self, table: TableDef, select: Sequence[str], expansions: Sequence[Expansion]
    ) -> dict[str, Any]:
        body = entity_json(table, select, self.state.user_language)
        for expansion in expansions:  # only Attributes can be expanded
            inner = _only(list(expansion.options.items()), ("$select", "$filter"))
            attributes = self._attribute_rows(
                attributes_of(self.state, table), inner.get("$select"), inner.get("$filter")
            )
            body[expansion.name] = attributes
        return body

    # Columns ----------------------------------------------------------------------------------

    def _attribute(
        self, table: TableDef, attributes: Sequence[AttributeDef], key: str
    ) -> AttributeDef:
        name = _NAME_KEY.match(key)
        for attribute in attributes:
            if (name and attribute.logical_name == name["name"]) or (
                not name and attribute.metadata_id == key.lower()
            ):
                return attribute
        raise ODataError(
            404,
            "0x80040217",
            f"Could not find attribute {key} on entity {table.logical_name}.",
        )

    def _attribute_rows(
        self, attributes: Sequence[AttributeDef], raw_select: str | None, raw_filter: str | None
    ) -> list[dict[str, Any]]:
        select = _select(raw_select, ATTRIBUTE_PROPERTIES, "AttributeMetadata")
        language = self.state.user_language
        keep = _filter(
            raw_filter,
            lambda a: a.to_json((), language),
            ATTRIBUTE_PROPERTIES,
            "AttributeMetadata",
        )
        return [a.to_json(select, language) for a in attributes if keep(a)]

    def attributes(
        self,
        table: TableDef,
        attributes: Sequence[AttributeDef],
        cast: str | None,
        query: Sequence[tuple[str, str]],
        context: str,
    ) -> dict[str, Any]:
        if cast is None:
            options = _only(query, ("$select", "$filter"))
            select = _select(options.get("$select"), ATTRIBUTE_PROPERTIES, "AttributeMetadata")
            return {
                "@odata.context": f"{context}/Attributes{_context_select(select, ())}",
                "value": self._attribute_rows(
                    attributes, options.get("$select"), options.get("$filter")
                ),
            }
        typed = [
            a for a in attributes if a.attribute_type == cast.removesuffix("AttributeMetadata")
        ]
        select, expansions = self._cast_options(cast, query)
        return {
            "@odata.context": f"{context}/Attributes/{CRM}{cast}"
            + _context_select(select, expansions),
            "value": [self._cast_json(a, cast, select, expansions) for a in typed],
        }

    def attribute(
        self,
        table: TableDef,
        attribute: AttributeDef,
        cast: str | None,
        query: Sequence[tuple[str, str]],
        context: str,
    ) -> dict[str, Any]:
        key = f"{context}('{table.logical_name}')/Attributes"
        if cast is None:
            options = _only(query, ("$select",))
            select = _select(options.get("$select"), ATTRIBUTE_PROPERTIES, "AttributeMetadata")
            return {
                "@odata.context": f"{key}{_context_select(select, ())}/$entity",
                **attribute.to_json(select, self.state.user_language),
            }
        select, expansions = self._cast_options(cast, query)
        return {
            "@odata.context": f"{key}/{CRM}{cast}{_context_select(select, expansions)}/$entity",
            **self._cast_json(attribute, cast, select, expansions),
        }

    def _cast_options(
        self, cast: str, query: Sequence[tuple[str, str]]
    ) -> tuple[tuple[str, ...], list[Expansion]]:
        picklist = cast == "PicklistAttributeMetadata"
        options = _only(query, ("$select", "$expand") if picklist else ("$select",))
        allowed = ATTRIBUTE_PROPERTIES + (() if picklist else DATETIME_PROPERTIES)
        select = _select(options.get("$select"), allowed, cast)
        expansions = _expand(options.get("$expand"), ("OptionSet", "GlobalOptionSet"), cast)
        for expansion in expansions:
            inner = _only(list(expansion.options.items()), ("$select",))
            _select(inner.get("$select"), OPTION_SET_PROPERTIES, "OptionSetMetadata")
        return select, expansions

    def _cast_json(
        self,
        attribute: AttributeDef,
        cast: str,
        select: Sequence[str],
        expansions: Sequence[Expansion],
    ) -> dict[str, Any]:
        """MetadataId first, then the selected properties, then expansions: the order of the
        Picklist sample in retrieve-metadata-name-metadataid.md. No `@odata.type`: every item
        is of the cast type."""
        language = self.state.user_language
        values = attribute.to_json((), language)
        values.update(datetime_values(attribute))
        names = select or (
            ATTRIBUTE_PROPERTIES
            + (DATETIME_PROPERTIES if cast == "DateTimeAttributeMetadata" else ())
        )
        body: dict[str, Any] = {"MetadataId": attribute.metadata_id}
        body.update({name: values[name] for name in names if name != "MetadataId"})
        for expansion in expansions:
            inner = _select(expansion.options.get("$select"), OPTION_SET_PROPERTIES, "")
            body[expansion.name] = option_set_json(
                attribute, inner, language, self.state.option_sets
            )
        return body

    def option_set(
        self,
        attribute: AttributeDef,
        navigation: str,
        query: Sequence[tuple[str, str]],
        context: str,
        key_text: str,
    ) -> dict[str, Any]:
        options = _only(query, ("$select",))
        select = _select(options.get("$select"), OPTION_SET_PROPERTIES, "OptionSetMetadata")
        return {
            "@odata.context": f"{context}{key_text}/Attributes({attribute.metadata_id})/"
            f"{CRM}PicklistAttributeMetadata/{navigation}{_context_select(select, ())}/$entity",
            **option_set_json(attribute, select, self.state.user_language, self.state.option_sets),
        }
