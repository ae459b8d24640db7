"""Query options of the Dataverse sandbox beyond paging: which options it accepts and which it
refuses, `$orderby`, `$count`, single-valued `$expand`, and the annotations asked for with
`Prefer: odata.include-annotations` (formatted values, lookup annotations, record counts).

Sources (PAD = MicrosoftDocs/powerapps-docs developer/data-platform/webapi/query/):
`count-rows.md` (`@odata.count` up to 5,000 after `@odata.context`; totalrecordcount
annotations), `select-columns.md` (`<property>@OData.Community.Display.V1.FormattedValue` just
before the property; `Preference-Applied` echoes the annotations), `join-tables.md` (an expanded
lookup is an object of its selected columns and its primary key, no ETag; the context URL reads
`accounts(name,primarycontactid(contactid,fullname))`). Refusals use code `0x80060888`, the
code Dataverse gives query-parsing errors (`join-tables.md`: "Expand with $ref is only supported
on lookup type navigation property."); an unknown option is answered with the service's text
"The query parameter <name> is not supported" (seen from Dynamics 365 for `utm_source` and
`$fetchXml`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.dataverse.odata import ODataError, bad_request
from sandbox.dataverse.records import Records
from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.store import Row, Table

# (logical name, id) -> the row, if it exists
Finder = Callable[[str, str], Row | None]

QUERY_ERROR = "0x80060888"
MAX_COUNT = 5000
FORMATTED = "OData.Community.Display.V1.FormattedValue"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"
LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
TOTAL_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount"
COUNT_EXCEEDED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
RECORD_ANNOTATIONS = frozenset({FORMATTED, NAVIGATION, LOGICAL_NAME})
COLLECTION_ANNOTATIONS = RECORD_ANNOTATIONS | {TOTAL_COUNT, COUNT_EXCEEDED}

# Options the sandbox reads somewhere (each resource refuses those it has no use for);
# `tag` is documented as a plug-in shared variable, which the sandbox accepts and ignores.
ACCEPTED_OPTIONS = frozenset(
    {
        "$select",
        "$filter",
        "$top",
        "$orderby",
        "$count",
        "$expand",
        "$skiptoken",
        "$deltatoken",
        "$id",
        "fetchXml",
        "tag",
    }
)
# Options Dataverse answers and the sandbox does not simulate.
NOT_SIMULATED_OPTIONS = frozenset({"$apply", "$search", "$compute", "savedQuery", "userQuery"})
# Dataverse functions clients call first; the sandbox names them instead of a bare 404.
NOT_SIMULATED_FUNCTIONS = frozenset(
    {
        "RetrieveMetadataChanges",
        "RetrieveTotalRecordCount",
        "RetrieveCurrentOrganization",
        "RetrieveVersion",
        "RetrieveUserPrivileges",
        "RetrieveAllEntities",
    }
)


def query_error(message: str) -> ODataError:
    return ODataError(400, QUERY_ERROR, message)


def not_simulated(what: str) -> ODataError:
    return query_error(f"{what} is not simulated by the sandbox (see sandbox/README.md).")


def check_options(query: Iterable[tuple[str, str]]) -> None:
    """Refuse any query option the sandbox would otherwise ignore."""
    for name, _ in query:
        if name.startswith("@") or name in ACCEPTED_OPTIONS:
            continue  # `@p1`: a parameter alias (OData URL conventions 5.1.1.13.1)
        if name in NOT_SIMULATED_OPTIONS:
            raise not_simulated(f"The query option {name}")
        raise query_error(f"The query parameter {name} is not supported")


def unknown_property(definition: TableDef, name: str) -> ODataError:
    return bad_request(
        f"Could not find a property named '{name}' on type "
        f"'Microsoft.Dynamics.CRM.{definition.logical_name}'."
    )


# $orderby ------------------------------------------------------------------------------------


def parse_orderby(raw: str, definition: TableDef) -> list[tuple[str, bool]]:
    """`name [asc|desc], ...` -> [(name, descending)]."""
    readable = set(definition.readable()) | {definition.primary_id}
    order: list[tuple[str, bool]] = []
    for item in raw.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise query_error(f"Syntax error: '{item.strip()}' is not a valid $orderby item.")
        if words[0] not in readable:
            raise unknown_property(definition, words[0])
        order.append((words[0], len(words) == 2 and words[1] == "desc"))
    return order


def ordered_ids(
    table: Table, order: Sequence[tuple[str, bool]], read: Callable[[Row, str], Any]
) -> list[str]:
    """Row ids sorted by `order`, then by id; nulls first ascending, text case-insensitive
    (SQL Server's default collation)."""
    rows = sorted(table.rows.values(), key=lambda r: r.id)
    for name, descending in reversed(order):

        def key(row: Row, name: str = name) -> tuple[bool, Any]:
            value = read(row, name)
            return (value is not None, value.lower() if isinstance(value, str) else value)

        rows.sort(key=key, reverse=descending)
    return [row.id for row in rows]


# $expand -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expansion:
    navigation: str
    column: str  # the lookup column on the expanded-from table
    target: TableDef
    select: tuple[str, ...]  # empty: every column


def _split_top(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_expand(
    raw: str, definition: TableDef, tables: Callable[[str], TableDef]
) -> list[Expansion]:
    expansions: list[Expansion] = []
    for item in _split_top(raw, ","):
        item = item.strip()
        name, found, rest = item.partition("(")
        name = name.strip()
        if name.endswith("/$ref"):
            raise not_simulated("$expand with /$ref")
        if name in definition.many_to_many:
            raise not_simulated(f"Expanding the collection-valued navigation property {name}")
        lookup = definition.lookups.get(name)
        if lookup is None:
            raise unknown_property(definition, name)
        target = tables(lookup.target)
        select: tuple[str, ...] = ()
        if found:
            if not rest.endswith(")"):
                raise query_error(f"Syntax error: ')' expected in $expand '{item}'.")
            for option in _split_top(rest[:-1], ";"):
                key, _, value = option.strip().partition("=")
                if key != "$select":
                    raise not_simulated(f"The option {key or option.strip()} inside $expand")
                readable = set(target.readable()) | {target.primary_id}
                select = tuple(n.strip() for n in value.split(",") if n.strip())
                for column in select:
                    if column not in readable:
                        raise unknown_property(target, column)
        expansions.append(Expansion(name, lookup.column, target, select))
    return expansions


def expand_context(expansions: Sequence[Expansion]) -> list[str]:
    return [f"{e.navigation}({','.join(e.select)})" for e in expansions]


# Prefer: odata.include-annotations -----------------------------------------------------------


def annotation_preference(
    prefs: dict[str, str], supported: frozenset[str]
) -> tuple[frozenset[str], str | None]:
    """(annotations to include, the Preference-Applied value). Only what is applied is echoed:
    an annotation the sandbox does not produce is neither included nor named back."""
    raw = prefs.get("odata.include-annotations")
    if raw is None:
        return frozenset(), None
    applied: set[str] = set()
    echoed: list[str] = []
    for item in (a.strip() for a in raw.split(",")):
        if item == "*":
            matched = set(supported)
        elif item.endswith(".*"):
            matched = {a for a in supported if a.startswith(item[:-1])}
        else:
            matched = {item} & supported
        if matched:
            applied |= matched
            echoed.append(item)
    if not echoed:
        return frozenset(), None
    return frozenset(applied), f'odata.include-annotations="{",".join(echoed)}"'


# Formatted values ------------------------------------------------------------------------------

_ALLOW = {True: "Do Not Allow", False: "Allow"}
_BOOL_LABELS: dict[str, dict[bool, str]] = {
    **{name: _ALLOW for name in ("donotbulkemail", "donotemail", "donotphone")},
    "type": {False: "Static", True: "Dynamic"},
    "directioncode": {False: "Incoming", True: "Outgoing"},
}
_ACTIVE = {0: "Active", 1: "Inactive"}
_ACTIVITY_STATE = {0: "Open", 1: "Completed", 2: "Canceled"}
_STATE_LABELS: dict[str, dict[int, str]] = {
    "contact": _ACTIVE,
    "account": _ACTIVE,
    "list": _ACTIVE,
    "lead": {0: "Open", 1: "Qualified", 2: "Disqualified"},
    "task": _ACTIVITY_STATE,
    "phonecall": _ACTIVITY_STATE,
}
_STATUS_LABELS: dict[str, dict[int, str]] = {
    "contact": {1: "Active", 2: "Inactive"},
    "account": {1: "Active", 2: "Inactive"},
    "list": {0: "Active", 1: "Inactive"},
    "lead": {
        1: "New",
        2: "Contacted",
        3: "Qualified",
        4: "Lost",
        5: "Cannot Contact",
        6: "No Longer Interested",
        7: "Canceled",
    },
    "task": {
        2: "Not Started",
        3: "In Progress",
        4: "Waiting on someone else",
        5: "Completed",
        6: "Canceled",
        7: "Deferred",
    },
    "phonecall": {1: "Open", 2: "Made", 3: "Canceled", 4: "Received"},
}
_PICKLIST_LABELS: dict[str, dict[int, str]] = {
    "createdfromcode": {1: "Account", 2: "Contact", 4: "Lead"},
    "gendercode": {1: "Male", 2: "Female"},
    "prioritycode": {0: "Low", 1: "Normal", 2: "High"},
    "leadsourcecode": {
        1: "Advertisement",
        2: "Employee Referral",
        3: "External Referral",
        4: "Partner",
        5: "Public Relations",
        6: "Seminar",
        7: "Trade Show",
        8: "Web",
        9: "Word of Mouth",
        10: "Other",
    },
}
_MONEY = frozenset({"revenue", "annualincome"})  # Currency columns in Dataverse
_DATE_ONLY = frozenset({"birthdate"})
SANDBOX_USER_NAME = "Sandbox Application User"


def _date_text(value: str, date_only: bool) -> str:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))  # the user's zone is UTC
    day = f"{moment.month}/{moment.day}/{moment.year}"
    if date_only:
        return day
    hour = moment.hour % 12 or 12
    return f"{day} {hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


@dataclass
class RowView:
    """How rows are written out: expansions and annotations on top of the selected columns."""

    expansions: list[Expansion] = field(default_factory=list)
    annotations: frozenset[str] = frozenset()
    primary_names: dict[str, str] = field(default_factory=dict)  # logical name -> name column

    def render(
        self,
        definition: TableDef,
        row: Row,
        select: list[str],
        plain: dict[str, Any],
        find: Finder,
    ) -> dict[str, Any]:
        """`plain` is the row as serialised without annotations (ETag, columns, primary key)."""
        if not self.annotations and not self.expansions:
            return plain
        out: dict[str, Any] = {}
        for name, value in plain.items():
            if self.annotations and value is not None and not name.startswith("@"):
                out.update(self._annotations(definition, row, name, value, find))
            out[name] = value
        for expansion in self.expansions:
            out[expansion.navigation] = self._expanded(row, expansion, find)
        return out

    def _annotations(
        self,
        definition: TableDef,
        row: Row,
        name: str,
        value: Any,
        find: Finder,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        column_name = name[1:-6] if name.startswith("_") and name.endswith("_value") else name
        column = definition.columns.get(column_name)
        if column is None:
            return out
        if FORMATTED in self.annotations:
            text = self._formatted(
                self.primary_names, definition, row, column_name, column.kind, value, find
            )
            if text is not None:
                out[f"{name}@{FORMATTED}"] = text
        if column.kind == "lookup":
            reference = row.values.get(column_name)
            target = reference[1] if isinstance(reference, tuple) else None
            navigation = next(
                (
                    lookup.navigation
                    for lookup in definition.lookups.values()
                    if lookup.column == column_name and lookup.target == target
                ),
                column_name,
            )
            if NAVIGATION in self.annotations:
                out[f"{name}@{NAVIGATION}"] = navigation
            if LOGICAL_NAME in self.annotations and target:
                out[f"{name}@{LOGICAL_NAME}"] = target
        return out

    @staticmethod
    def _formatted(
        names: dict[str, str],
        definition: TableDef,
        row: Row,
        name: str,
        kind: str,
        value: Any,
        find: Finder,
    ) -> str | None:
        logical = definition.logical_name
        if kind == "bool":
            return _BOOL_LABELS.get(name, {True: "Yes", False: "No"})[bool(value)]
        if kind == "state":
            return _STATE_LABELS.get(logical, {}).get(value, str(value))
        if kind == "status":
            return _STATUS_LABELS.get(logical, {}).get(value, str(value))
        if kind == "picklist":
            return _PICKLIST_LABELS.get(name, {}).get(value, str(value))
        if kind in ("int", "bigint"):
            return f"{value:,}"
        if kind == "decimal":
            return f"${value:,.2f}" if name in _MONEY else f"{value:,.2f}"
        if kind == "datetime":
            return _date_text(value, name in _DATE_ONLY)
        if kind == "lookup":
            reference = row.values.get(name)
            if not isinstance(reference, tuple):
                return None
            target_id, target = reference
            if target == "systemuser":
                return SANDBOX_USER_NAME
            related = find(target, target_id)
            return None if related is None else related.values.get(names.get(target, ""))
        return None  # text and ids have no formatted value

    @staticmethod
    def _expanded(row: Row, expansion: Expansion, find: Finder) -> dict[str, Any] | None:
        reference = row.values.get(expansion.column)
        if not isinstance(reference, tuple) or reference[1] != expansion.target.logical_name:
            return None
        related = find(expansion.target.logical_name, reference[0])
        if related is None:
            return None
        target = expansion.target
        names = list(expansion.select) or target.readable()
        out: dict[str, Any] = {}
        for name in names:
            out[name] = Records.read(target, related, name)
        out.setdefault(target.primary_id, related.id)
        return out
