"""`GET RelationshipDefinitions` in the Dataverse sandbox: the one-to-many relationships of the
connector's lookups (installed or created through `POST RelationshipDefinitions`), as a
collection (also through the `OneToManyRelationshipMetadata` cast) or one by
`(SchemaName='x')` / MetadataId, with `$select` and a one-comparison `$filter`.

Source: PAD `webapi/query-metadata-web-api.md` (relationships) and
`create-update-entity-relationships-using-web-api.md`. Many-to-many relationships and the
standard tables' own relationships are not listed (sandbox/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.metadata import _filter, _only, _select
from sandbox.dataverse.metadata_writes import created_id
from sandbox.dataverse.odata import ODataError

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

CAST = "/Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata"
TYPE = "OneToManyRelationshipMetadata"
PROPERTIES = (
    "SchemaName",
    "ReferencedEntity",
    "ReferencedAttribute",
    "ReferencingEntity",
    "ReferencingAttribute",
    "ReferencingEntityNavigationPropertyName",
    "RelationshipType",
    "IsCustomRelationship",
)
_KEY = re.compile(r"^\((?:SchemaName='(?P<name>[^']*)'|(?P<id>[0-9a-fA-F-]{36}))\)$")


def _values(relationship: dict[str, Any]) -> dict[str, Any]:
    fixed = {"RelationshipType": "OneToManyRelationship", "IsCustomRelationship": True}
    return {**relationship, **fixed}


def _json(relationship: dict[str, Any], select: Sequence[str]) -> dict[str, Any]:
    values = _values(relationship)
    body: dict[str, Any] = {"@odata.type": f"#Microsoft.Dynamics.CRM.{TYPE}"}
    body.update({name: values[name] for name in (select or PROPERTIES) if name != "MetadataId"})
    body["MetadataId"] = created_id(relationship)
    return body


def read_relationships(
    state: DataverseState, rest: str, query: Sequence[tuple[str, str]], api_url: str
) -> dict[str, Any]:
    context = f"{api_url}/$metadata#RelationshipDefinitions"
    cast = rest.startswith(CAST)
    key = rest.removeprefix(CAST) if cast else rest
    items = sorted(state.relationships.values(), key=lambda r: str(r["SchemaName"]).lower())
    if key == "":
        options = _only(query, ("$select", "$filter"))
        select = _select(options.get("$select"), PROPERTIES, TYPE)
        keep = _filter(options.get("$filter"), _values, PROPERTIES, TYPE)
        suffix = f"({','.join(select)})" if select else ""
        return {
            "@odata.context": f"{context}{CAST if cast else ''}{suffix}",
            "value": [_json(r, select) for r in items if keep(r)],
        }
    match = _KEY.match(key)
    if match is None:
        raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{rest}'.")
    found = next(
        (
            r
            for r in items
            if r["SchemaName"] == match["name"] or created_id(r) == (match["id"] or "").lower()
        ),
        None,
    )
    if found is None:
        raise ODataError(404, "0x80040217", f"Could not find a relationship {key.strip('()')}.")
    options = _only(query, ("$select",))
    select = _select(options.get("$select"), PROPERTIES, TYPE)
    suffix = f"({','.join(select)})" if select else ""
    return {"@odata.context": f"{context}{suffix}/$entity", **_json(found, select)}
