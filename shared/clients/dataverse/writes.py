"""Single-record writes (PAD `webapi/create-entity-web-api.md`,
`webapi/update-delete-entities-using-web-api.md`,
`webapi/perform-conditional-operations-using-web-api.md`).

- create: `POST <set>` -> 204 + `OData-EntityId`; with `Prefer: return=representation` -> 201
  and the record (no OData-EntityId then). Not resent after a lost answer (it would create a
  second record): `OutcomeUnknown` instead.
- update: `PATCH <set>(<key>)` with `If-Match: *` (never creates; 404 if missing) or the ETag
  read earlier (412 -> `PreconditionFailed` if the row changed since).
- upsert: `PATCH <set>(<key>)` without If-Match (creates if missing); `create_only` sends
  `If-None-Match: *` (412 if it exists).
- delete: `DELETE <set>(<key>)`, optionally `If-Match`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.clients.dataverse.odata import (
    FORMATTED_VALUES,
    Key,
    check_name,
    entity_id_from_url,
    entity_path,
    prefer,
    query_string,
    select_option,
)
from shared.clients.dataverse.transport import DataverseTransport, parse_json
from shared.errors import ApiError

RETURN_REPRESENTATION = "return=representation"
ACTIVITY_SETS = frozenset(
    {"tasks", "phonecalls", "emails", "appointments", "letters", "faxes", "activitypointers"}
)


@dataclass(frozen=True)
class CreatedRecord:
    id: str
    etag: str | None = None
    record: dict[str, Any] | None = None  # only with return_representation


def primary_key_of(entity_set: str, body: Mapping[str, Any] | None = None) -> str:
    """The primary id column of a table from its entity set (contacts -> contactid; activity
    tables -> activityid)."""
    if entity_set in ACTIVITY_SETS:
        return "activityid"
    guess = (entity_set[:-1] if entity_set.endswith("s") else entity_set) + "id"
    if body is not None and guess not in body and "activityid" in body:
        return "activityid"  # a custom activity table
    return guess


def operation_name(method: str, entity_set: str, key: Key | None = None) -> str:
    """`PATCH contacts(<guid>)`, or with an alternate key only its column names (the values
    may be personal data and end up in the audit)."""
    if key is None:
        return f"{method} {entity_set}"
    if isinstance(key, Mapping):
        return f"{method} {entity_set}({','.join(f'{name}=...' for name in key)})"
    return f"{method} {entity_set}({key})"


def create(
    transport: DataverseTransport,
    entity_set: str,
    data: Mapping[str, Any],
    *,
    return_representation: bool = False,
    select: Sequence[str] | None = None,
) -> CreatedRecord:
    check_name(entity_set, "entity set")
    target = entity_set
    if return_representation and select:
        target += "?" + query_string([("$select", select_option(select))])
    operation = operation_name("POST", entity_set)
    response = transport.send(
        "POST",
        target,
        operation=operation,
        json_body=dict(data),
        headers=prefer(RETURN_REPRESENTATION) if return_representation else None,
        idempotent=False,
    )
    if response.status_code == 201 or (return_representation and response.content.strip()):
        body = parse_json(response, operation)
        if not isinstance(body, dict):
            raise ApiError(
                f"Dataverse {operation} returned a record that is not an object", status=201
            )
        key = primary_key_of(entity_set, body)
        record_id = body.get(key)
        if not record_id:
            raise ApiError(f"Dataverse {operation} returned a record without {key}", status=201)
        etag = body.get("@odata.etag")
        return CreatedRecord(str(record_id), str(etag) if etag else None, body)
    record_id = entity_id_from_url(response.headers.get("odata-entityid"))
    if record_id is None:
        raise ApiError(
            f"Dataverse {operation} answered HTTP {response.status_code} without OData-EntityId",
            status=response.status_code,
        )
    return CreatedRecord(record_id)


def update(
    transport: DataverseTransport,
    entity_set: str,
    key: Key,
    data: Mapping[str, Any],
    *,
    if_match: str | None = None,
) -> None:
    transport.send(
        "PATCH",
        entity_path(entity_set, key),
        operation=operation_name("PATCH", entity_set, key),
        json_body=dict(data),
        headers={"If-Match": if_match or "*"},
    )


def upsert(
    transport: DataverseTransport,
    entity_set: str,
    key: Key,
    data: Mapping[str, Any],
    *,
    create_only: bool = False,
) -> str | None:
    """The id of the created or updated row (from OData-EntityId, when the service sends it)."""
    response = transport.send(
        "PATCH",
        entity_path(entity_set, key),
        operation=operation_name("PATCH", entity_set, key),
        json_body=dict(data),
        headers={"If-None-Match": "*"} if create_only else None,
    )
    return entity_id_from_url(response.headers.get("odata-entityid"))


def delete(
    transport: DataverseTransport, entity_set: str, key: Key, *, if_match: str | None = None
) -> None:
    transport.send(
        "DELETE",
        entity_path(entity_set, key),
        operation=operation_name("DELETE", entity_set, key),
        headers={"If-Match": if_match} if if_match else None,
    )


def retrieve(
    transport: DataverseTransport,
    entity_set: str,
    key: Key,
    select: Sequence[str],
    *,
    formatted_values: bool = False,
) -> dict[str, Any] | None:
    """One row (with its `@odata.etag`), or None if it does not exist."""
    target = entity_path(entity_set, key) + "?" + query_string([("$select", select_option(select))])
    operation = operation_name("GET", entity_set, key)
    headers = {"Prefer": FORMATTED_VALUES} if formatted_values else None
    try:
        body, _ = transport.get_json(target, operation=operation, headers=headers)
    except ApiError as error:
        if error.status == 404:
            return None
        raise
    if not isinstance(body, dict):
        raise ApiError(f"Dataverse {operation} returned a record that is not an object", status=200)
    return body
