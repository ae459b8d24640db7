"""The bulk operation messages CreateMultiple / UpdateMultiple / UpsertMultiple, bound to an
entity set: `POST <set>/Microsoft.Dynamics.CRM.<message> {"Targets": [...]}`.

Sources (PAD = MicrosoftDocs/powerapps-docs developer/data-platform/): `bulk-operations.md`
(request and response samples: CreateMultiple 200 with a `CreateMultipleResponse` holding `Ids`,
UpdateMultiple 204; "You must set the `@odata.type` property for each item in the `Targets`
parameter"; on standard tables "All operations roll back on error"; "Not all standard tables
support these messages"; the client errors "Cannot insert duplicate key." and
"Contact With Ids = <guid> Do Not Exist"); Web API reference `upsertmultiple` ("returns 204
NoContent", targets identified by primary key or by `@odata.id` with an alternate key).

Undocumented choices (listed in sandbox/README.md): the status and code of the refusals of a
malformed `Targets` (400, code 0x80048d19, like a malformed body), and of a message a table
does not support (404 "Resource not found for the segment", as for any unknown action).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.dataverse.odata import ODataError, bad_request, parse_path
from sandbox.dataverse.records import Records
from sandbox.dataverse.store import Row, Table, Transaction

MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
MALFORMED = "0x80048d19"
DUPLICATE_KEY = "Cannot insert duplicate key."


def _targets(body: Mapping[str, Any], table: Table, message: str) -> list[dict[str, Any]]:
    targets = body.get("Targets")
    if not isinstance(targets, list) or not targets:
        raise bad_request(
            f"{message} needs the parameter Targets (Collection(crmbaseentity)), not empty.",
            MALFORMED,
        )
    expected = f"Microsoft.Dynamics.CRM.{table.definition.logical_name}"
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            raise bad_request(f"Targets[{index}] is not an entity.", MALFORMED)
        odata_type = target.get("@odata.type")
        if odata_type is None:
            raise bad_request(
                f"Targets[{index}] has no @odata.type: every item of Targets must name its "
                f"type ('{expected}').",
                MALFORMED,
            )
        if str(odata_type).removeprefix("#") != expected:
            raise bad_request(
                f"Targets[{index}] is a '{odata_type}': all the records of {message} must be "
                f"of the bound table ('{expected}').",
                MALFORMED,
            )
    return targets


def _values(target: Mapping[str, Any]) -> dict[str, Any]:
    """The target's columns: instance annotations (`@odata.type`, `@odata.id`) dropped,
    property annotations such as `x@odata.bind` kept."""
    return {name: value for name, value in target.items() if not name.startswith("@")}


def _missing(table: Table, row_id: str) -> ODataError:
    name = table.definition.logical_name.capitalize()
    return ODataError(404, "0x80040217", f"{name} With Ids = {row_id} Do Not Exist")


class BulkMessages:
    """Runs one bulk message in one transaction: any failing target rolls every write back."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def run(
        self,
        table: Table,
        message: str,
        body: Mapping[str, Any],
        outer: Transaction | None = None,
    ) -> list[str]:
        """The ids written, in target order; `outer` is the `$batch` change set, if any."""
        if message not in MESSAGES or not table.definition.bulk_messages:
            raise ODataError(
                404,
                "0x8006088a",
                f"Resource not found for the segment 'Microsoft.Dynamics.CRM.{message}'.",
            )
        targets = _targets(body, table, message)
        transaction = Transaction()
        try:
            ids = [self._one(table, message, target, transaction) for target in targets]
        except ODataError:
            transaction.rollback()
            raise
        if outer is not None:  # inside a $batch change set: undone with it
            outer.record(transaction.rollback)
        return ids

    def _one(
        self, table: Table, message: str, target: Mapping[str, Any], transaction: Transaction
    ) -> str:
        definition = table.definition
        values = _values(target)
        if message == "CreateMultiple":
            given = values.get(definition.primary_id)
            if isinstance(given, str) and table.get(given.lower()) is not None:
                raise ODataError(412, "0x80040237", DUPLICATE_KEY)
            return self.records.create(table, values, transaction=transaction).id
        row, key_values = self._existing(table, target, values)
        if message == "UpdateMultiple":
            if row is None:
                row_id = values.get(definition.primary_id)
                if row_id is None and not key_values:
                    raise bad_request(
                        f"UpdateMultiple needs each target's {definition.primary_id} or an "
                        "@odata.id.",
                        MALFORMED,
                    )
                raise _missing(table, str(row_id or target.get("@odata.id")))
            return self.records.update(table, row, values, transaction=transaction).id
        if row is not None:
            return self.records.update(table, row, values, transaction=transaction).id
        row_id = key_values.pop(definition.primary_id, None)
        created = self.records.create(
            table, values, row_id=row_id, key_values=key_values, transaction=transaction
        )
        return created.id

    def _existing(
        self, table: Table, target: Mapping[str, Any], values: Mapping[str, Any]
    ) -> tuple[Row | None, dict[str, Any]]:
        """The row a target names (primary key column, or `@odata.id` with a key), and the key
        values to give a row an upsert creates."""
        definition = table.definition
        reference = target.get("@odata.id")
        if isinstance(reference, str):
            segments = parse_path(reference.rsplit("/api/data/v9.2/", 1)[-1])
            if len(segments) != 1 or segments[0].key is None:
                raise bad_request(f"The @odata.id '{reference}' is not a record.", MALFORMED)
            if segments[0].name != definition.entity_set:
                raise bad_request(
                    f"The @odata.id '{reference}' is not a record of {definition.entity_set}.",
                    MALFORMED,
                )
            key = segments[0].key
            row = self.records.find(table, key)
            if isinstance(key, str):
                return row, {definition.primary_id: key}
            return row, dict(key)
        given = values.get(definition.primary_id)
        if isinstance(given, str):
            return table.get(given.lower()), {}
        return None, {}
