"""Write semantics of the Dataverse sandbox: validation, defaults, lookups, keys, membership.

Messages and codes follow what the service documents (PAD pages named in `webapi.py`):
- too long a string: 400 `0x80044331` "A validation error occurred.  The length of the
  'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'."
  (verbatim from the `$batch` error sample);
- an unknown `...@odata.bind` navigation property: 400 `0x80060888` "An undeclared property
  ... which only has property annotations in the payload ..." (the OData library's message);
- a lookup or row that does not exist: 404 `0x80040217` "<table> With Id = <id> Does Not Exist";
- a duplicate alternate key: 412 `0x80060892` "A record that has the attribute values ...
  already exists. The entity key ... requires that this set of attributes contains unique
  values. Select unique values and try again."
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.odata import GUID, ODataError, bad_request, iso, new_guid
from sandbox.dataverse.schema import EDM_TYPES, Column, TableDef
from sandbox.dataverse.store import Row, Table, Transaction
from sandbox.dataverse.webhook_context import Change, membership_change, sent_columns

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

SANDBOX_USER_ID = "3c5d4d3a-5e2c-4b1b-9a8e-0d5a7f6b1c01"
_BIND_TARGET = re.compile(
    r"(?:^|/)(?P<set>[A-Za-z_][A-Za-z0-9_]*)\((?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$"
)
_DEFAULT_FALSE = (
    "donotbulkemail", "donotemail", "donotphone", "donotpostalmail", "donotfax", "lockstatus",
    "isdocument",
)  # fmt: skip
_CODE_TYPE = {1: "account", 2: "contact", 4: "lead"}
MEMBER_TYPE_CODES = {name: code for code, name in _CODE_TYPE.items()}


def not_found(logical_name: str, row_id: str, code: str = "0x80040217") -> ODataError:
    return ODataError(404, code, f"{logical_name} With Id = {row_id} Does Not Exist")


def key_not_found(logical_name: str) -> ODataError:
    return ODataError(
        404,
        "0x80040217",
        f"A record with the specified key values does not exist in {logical_name} entity",
    )


def _conversion_error(table: TableDef, value: Any, column: Column) -> ODataError:
    return bad_request(
        f"Error identified in Payload provided by the user for Entity :'{table.entity_set}', "
        "For more information on this error please follow this help link "
        "https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
        f"Microsoft.OData.ODataException: Cannot convert the literal '{value}' to the expected "
        f"type '{EDM_TYPES[column.kind]}'.",
        "0x80048d19",
    )


def member_table_of(list_row: Row) -> str:
    return _CODE_TYPE.get(int(list_row.values.get("createdfromcode") or 0), "contact")


class Records:
    """Row-level operations on the sandbox state (callers hold the state lock)."""

    def __init__(self, state: DataverseState) -> None:
        self.state = state

    # Lookup helpers ---------------------------------------------------------------------------

    def table(self, logical_name: str) -> Table:
        return self.state.tables[logical_name]

    def table_for_set(self, entity_set: str) -> Table:
        for table in self.state.tables.values():
            if table.definition.entity_set == entity_set:
                return table
        raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{entity_set}'.")

    def find(self, table: Table, key: str | Mapping[str, Any]) -> Row | None:
        if isinstance(key, str):
            return table.get(key)
        definition = table.definition
        if set(key) == {definition.primary_id} and isinstance(key[definition.primary_id], str):
            return table.get(key[definition.primary_id])
        columns = tuple(key)
        for alternate in definition.alternate_keys:
            if set(alternate) == set(columns):
                return table.by_key(alternate, tuple(key[c] for c in alternate))
        raise bad_request(
            "The key in the request URI is not valid for resource "
            f"'Microsoft.Dynamics.CRM.{definition.logical_name}'. Ensure that the names and "
            "number of key properties match the declared or alternate key properties for the "
            "resource.",
            "0x80060888",
        )

    def bind_target(self, value: Any) -> tuple[Table, str]:
        match = _BIND_TARGET.search(str(value)) if isinstance(value, str) else None
        if match is None:
            raise bad_request(
                f"The value '{value}' of an @odata.bind annotation is not an entity reference.",
                "0x80060888",
            )
        return self.table_for_set(match.group("set")), match.group("id").lower()

    # Values -----------------------------------------------------------------------------------

    def _convert(self, table: TableDef, column: Column, value: Any) -> Any:
        if value is None:
            return None
        kind = column.kind
        if kind in ("string", "memo"):
            if not isinstance(value, str):
                raise _conversion_error(table, value, column)
            if column.max_length is not None and len(value) > column.max_length:
                raise bad_request(
                    "A validation error occurred.  The length of the "
                    f"'{column.name}' attribute of the '{table.logical_name}' entity exceeded "
                    f"the maximum allowed length of '{column.max_length}'.",
                    "0x80044331",
                )
            return value
        if kind in ("int", "bigint", "picklist", "state", "status"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _conversion_error(table, value, column)
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise _conversion_error(table, value, column)
            return value
        if kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _conversion_error(table, value, column)
            return value
        if kind == "datetime":
            if not isinstance(value, str):
                raise _conversion_error(table, value, column)
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise _conversion_error(table, value, column) from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if kind == "guid":
            if not isinstance(value, str) or not GUID.match(value):
                raise _conversion_error(table, value, column)
            return value.lower()
        return value

    def apply(
        self, table: Table, values: dict[str, Any], body: Mapping[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        """The row's values after this body (a new dict; `values` is left alone)."""
        definition = table.definition
        result = dict(values)
        for name, value in body.items():
            if name.endswith("@odata.bind"):
                navigation = name[: -len("@odata.bind")]
                lookup = definition.lookups.get(navigation)
                if lookup is None:
                    raise bad_request(
                        f"An undeclared property '{navigation}' which only has property "
                        "annotations in the payload but no property value was found in the "
                        "payload. In OData, only declared navigation properties and declared "
                        "named streams can be represented as properties without values.",
                        "0x80060888",
                    )
                if value is None:
                    result[lookup.column] = None
                    continue
                target_table, target_id = self.bind_target(value)
                if target_table.definition.logical_name != lookup.target:
                    raise bad_request(
                        f"The navigation property '{navigation}' refers to "
                        f"'{lookup.target}', not '{target_table.definition.logical_name}'.",
                        "0x80060888",
                    )
                if target_table.get(target_id) is None:
                    raise not_found(lookup.target, target_id)
                result[lookup.column] = (target_id, lookup.target)
                continue
            if name.startswith("@") or "@" in name:
                continue  # instance annotations (@odata.type, ...)
            column = definition.columns.get(name)
            if column is None or column.kind == "lookup":
                raise bad_request(
                    f"The property '{name}' does not exist on type "
                    f"'Microsoft.Dynamics.CRM.{definition.logical_name}'. Make sure to only use "
                    "property names that are defined by the type.",
                    "0x80060888",
                )
            if column.read_only or column.name == definition.primary_id:
                continue
            result[name] = self._convert(definition, column, value)
        # A new state without a status takes the state's default status, and a status alone
        # brings its state along.
        if not creating and "statecode" in body and "statuscode" not in body:
            result["statuscode"] = None
        if not creating and "statuscode" in body and "statecode" not in body:
            result["statecode"] = None
        return result

    def _finish(self, table: Table, values: dict[str, Any], row_id: str, *, creating: bool) -> None:
        definition = table.definition
        now = iso(self.state.now())
        if creating:
            values.setdefault("createdon", now)
            values["ownerid"] = (SANDBOX_USER_ID, "systemuser")
            if "createdby" in definition.columns:
                values["createdby"] = (self.state.acting_user, "systemuser")
            for name in _DEFAULT_FALSE:
                if name in definition.columns:
                    values.setdefault(name, False)
            if definition.logical_name == "list":
                if values.get("createdfromcode") not in _CODE_TYPE:
                    raise bad_request(
                        "createdfromcode is required: 1 (account), 2 (contact) or 4 (lead).",
                        "0x80040203",
                    )
                values.setdefault("type", False)
                values.setdefault("donotsendonoptout", True)
                values.setdefault("ignoreinactivelistmembers", True)
                values["membercount"] = self.state.membership.count(row_id)
                values.setdefault("membertype", values["createdfromcode"])
            if definition.is_activity:
                values["activitytypecode"] = definition.logical_name
        values["createdon"] = values.get("createdon") or now
        values["modifiedon"] = now
        if {"firstname", "lastname", "fullname"} <= definition.columns.keys():
            names = [values.get("firstname"), values.get("lastname")]
            values["fullname"] = " ".join(str(n) for n in names if n) or None
        if definition.logical_name == "annotation" and values.get("objectid"):
            values["objecttypecode"] = values["objectid"][1]
        if definition.states:
            self._check_state(definition, values, row_id)

    def _check_state(self, definition: TableDef, values: dict[str, Any], row_id: str) -> None:
        state = values.get("statecode")
        status = values.get("statuscode")
        if state is None and status is not None:
            state = next((s for s, codes in definition.states.items() if status in codes), None)
        if state is None:
            state = 0
        if state not in definition.states:
            raise bad_request(
                f"{state} is not a valid state code on {definition.logical_name} with Id {row_id}.",
                "0x80040203",
            )
        if status is None or status not in definition.states[state]:
            if status is not None:
                raise bad_request(
                    f"{status} is not a valid status code for state code {state} on "
                    f"{definition.logical_name} with Id {row_id}.",
                    "0x80040203",
                )
            status = definition.default_status.get(state, definition.states[state][0])
        values["statecode"], values["statuscode"] = state, status

    def _check_keys(self, table: Table, values: dict[str, Any], row_id: str) -> None:
        collision = table.key_owner(values)
        if collision is not None and collision[1] != row_id:
            columns, _ = collision
            labels = ", ".join(c.capitalize() if c != "emailaddress1" else "Email" for c in columns)
            raise ODataError(
                412,
                "0x80060892",
                f"A record that has the attribute values {labels} already exists. The entity "
                f"key {labels} Key requires that this set of attributes contains unique values. "
                "Select unique values and try again.",
            )

    # Operations -------------------------------------------------------------------------------

    def create(
        self,
        table: Table,
        body: Mapping[str, Any],
        *,
        row_id: str | None = None,
        key_values: Mapping[str, Any] | None = None,
        transaction: Transaction | None = None,
    ) -> Row:
        definition = table.definition
        given = body.get(definition.primary_id)
        if given is not None:
            if not isinstance(given, str) or not GUID.match(given):
                raise _conversion_error(
                    definition, given, definition.columns[definition.primary_id]
                )
            row_id = given.lower()
        row_id = (row_id or new_guid(self.state.rng)).lower()
        if table.get(row_id) is not None:
            raise ODataError(412, "0x80040237", "A record with matching key values already exists.")
        values = self.apply(table, {}, body, creating=True)
        for name, value in (key_values or {}).items():
            values[name] = value
        self._finish(table, values, row_id, creating=True)
        self._check_keys(table, values, row_id)
        row = Row(row_id, values, self.state.next_version())
        table.put(row, transaction)
        self._changed(Change("Create", definition, row_id, row.version, after=values), transaction)
        return row

    def update(
        self,
        table: Table,
        row: Row,
        body: Mapping[str, Any],
        *,
        transaction: Transaction | None = None,
    ) -> Row:
        definition = table.definition
        given = body.get(definition.primary_id)
        if given is not None and str(given).lower() != row.id:
            raise bad_request(
                f"The primary key {definition.primary_id} of an existing row cannot change.",
                "0x80040203",
            )
        values = self.apply(table, row.values, body, creating=False)
        self._finish(table, values, row.id, creating=False)
        self._check_keys(table, values, row.id)
        updated = Row(row.id, values, self.state.next_version())
        table.put(updated, transaction)
        change = Change(
            "Update",
            definition,
            row.id,
            updated.version,
            before=row.values,
            after=values,
            sent=sent_columns(definition, body),
        )
        self._changed(change, transaction)
        return updated

    def touch(
        self, table: Table, row: Row, changes: Mapping[str, Any], transaction: Transaction | None
    ) -> Row:
        """A system change (membercount, ...): new version, no validation."""
        values = {**row.values, **changes, "modifiedon": iso(self.state.now())}
        updated = Row(row.id, values, self.state.next_version())
        table.put(updated, transaction)
        return updated

    def delete(self, table: Table, row: Row, *, transaction: Transaction | None = None) -> None:
        logical = table.definition.logical_name
        membership = self.state.membership
        if logical == "list":
            for member_id in membership.member_ids(row.id):
                self._drop_member(row.id, member_id, transaction, update_list=False)
        elif logical in MEMBER_TYPE_CODES:
            for list_id in membership.list_ids(row.id):
                self._drop_member(list_id, row.id, transaction, update_list=True)
            notes = self.table("annotation")
            for note in [
                n for n in notes.rows.values() if (n.values.get("objectid") or ("",))[0] == row.id
            ]:
                notes.delete(note.id, self.state.next_version(), transaction)
        version = self.state.next_version()
        table.delete(row.id, version, transaction)
        change = Change("Delete", table.definition, row.id, version, before=row.values)
        self._changed(change, transaction)

    # Marketing list members -------------------------------------------------------------------

    def add_member(
        self, list_row: Row, member_id: str, *, transaction: Transaction | None = None
    ) -> tuple[str, bool]:
        """(listmember id, whether it was added now). Adding an existing member changes nothing."""
        if list_row.values.get("type"):
            raise bad_request(
                "Members cannot be added to a dynamic marketing list; change its query instead.",
                "0x80040203",
            )
        member_logical = member_table_of(list_row)
        member_id = member_id.lower()
        if self.table(member_logical).get(member_id) is None:
            raise not_found(member_logical, member_id)
        membership = self.state.membership
        existing = membership.members.get(list_row.id, {}).get(member_id)
        if existing is not None:
            return existing, False
        listmembers = self.table("listmember")
        listmember_id = new_guid(self.state.rng)
        now = iso(self.state.now())
        listmembers.put(
            Row(
                listmember_id,
                {
                    "listid": (list_row.id, "list"),
                    "entityid": (member_id, member_logical),
                    "entitytype": member_logical,
                    "createdon": now,
                    "modifiedon": now,
                    "ownerid": (SANDBOX_USER_ID, "systemuser"),
                },
                self.state.next_version(),
            ),
            transaction,
        )
        membership.add(list_row.id, member_id, listmember_id)
        if transaction is not None:
            transaction.record(lambda: membership.remove(list_row.id, member_id))
        lists = self.table("list")
        current = lists.get(list_row.id) or list_row
        touched = self.touch(
            lists, current, {"membercount": membership.count(list_row.id)}, transaction
        )
        change = membership_change(
            "Associate", lists.definition, touched, member_logical, member_id
        )
        self._changed(change, transaction)
        return listmember_id, True

    def remove_member(
        self, list_row: Row, member_id: str, *, transaction: Transaction | None = None
    ) -> bool:
        member_id = member_id.lower()
        removed = self._drop_member(list_row.id, member_id, transaction, update_list=True)
        if removed:
            current = self.table("list").get(list_row.id) or list_row
            member_logical = member_table_of(current)
            change = membership_change(
                "Disassociate", self.table("list").definition, current, member_logical, member_id
            )
            self._changed(change, transaction)
        return removed

    # Webhooks ---------------------------------------------------------------------------------

    def _changed(self, change: Change, transaction: Transaction | None) -> None:
        """Every row and membership change reaches the webhooks from here (a rolled back
        transaction takes it back)."""
        self.state.webhooks.capture(change, transaction)

    def _drop_member(
        self, list_id: str, member_id: str, transaction: Transaction | None, *, update_list: bool
    ) -> bool:
        membership = self.state.membership
        listmember_id = membership.remove(list_id, member_id)
        if listmember_id is None:
            return False
        if transaction is not None:
            transaction.record(lambda: membership.add(list_id, member_id, listmember_id))
        listmembers = self.table("listmember")
        if listmembers.get(listmember_id) is not None:
            listmembers.delete(listmember_id, self.state.next_version(), transaction)
        lists = self.table("list")
        list_row = lists.get(list_id)
        if update_list and list_row is not None:
            self.touch(lists, list_row, {"membercount": membership.count(list_id)}, transaction)
        return True

    # Reading ----------------------------------------------------------------------------------

    @staticmethod
    def read(definition: TableDef, row: Row, name: str) -> Any:
        if name == definition.primary_id:
            return row.id
        if name == "versionnumber":
            return row.version
        if name.startswith("_") and name.endswith("_value"):
            value = row.values.get(name[1:-6])
            return value[0] if isinstance(value, tuple) else value
        value = row.values.get(name)
        return value[0] if isinstance(value, tuple) else value

    def serialize(self, definition: TableDef, row: Row, select: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": row.etag}
        for name in select:
            out[name] = self.read(definition, row, name)
        if definition.primary_id not in out:
            out[definition.primary_id] = row.id
        return out
