"""Query options of the Dataverse sandbox beyond paging: which options it accepts and which it
refuses, `$orderby`, `$count`, single-valued `$expand`, and which annotations asked for with
`Prefer: odata.include-annotations` it applies (rows are written out in `rowview.py`).

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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.dataverse.odata import (
    QUERY_ERROR,
    ODataError,
    bad_request,
    split_top_level,
    unsupported,
)
from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.store import Row, Table

MAX_COUNT = 5000
FORMATTED = "OData.Community.Display.V1.FormattedValue"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"
LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
TOTAL_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount"
COUNT_EXCEEDED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
RECORD_ANNOTATIONS = frozenset({FORMATTED, NAVIGATION, LOGICAL_NAME})
COLLECTION_ANNOTATIONS = RECORD_ANNOTATIONS | {TOTAL_COUNT, COUNT_EXCEEDED}

# Options written requests may carry (return=representation reads $select and $expand; a
# $ref DELETE reads $id).
WRITE_OPTIONS = frozenset({"$select", "$expand", "$id", "tag"})
# Options the sandbox reads somewhere (each resource refuses those it has no use for);
# `tag` is documented as a plug-in shared variable, which the sandbox accepts and ignores.
# Options of a read (a collection, a record, a FetchXML query).
READ_OPTIONS = frozenset(
    {
        "$select",
        "$filter",
        "$top",
        "$orderby",
        "$count",
        "$expand",
        "$skiptoken",
        "$deltatoken",
        "fetchXml",
    }
)
ACCEPTED_OPTIONS = READ_OPTIONS | {"$id", "tag"}
# Options Dataverse answers and the sandbox does not simulate.
NOT_SIMULATED_OPTIONS = frozenset({"$apply", "$search", "$compute", "savedQuery", "userQuery"})
# Dataverse functions clients call first; the sandbox names them instead of a bare 404.
NOT_SIMULATED_FUNCTIONS = frozenset(
    {
        "RetrieveMetadataChanges",
        "RetrieveCurrentOrganization",
        "RetrieveVersion",
        "RetrieveUserPrivileges",
        "RetrieveAllEntities",
    }
)


def query_error(message: str) -> ODataError:
    return ODataError(400, QUERY_ERROR, message)


def check_options(query: Iterable[tuple[str, str]], method: str) -> None:
    """Refuse any query option the sandbox would otherwise ignore."""
    for name, _ in query:
        if name.startswith("@"):
            continue  # `@p1`: a parameter alias (OData URL conventions 5.1.1.13.1)
        if name in NOT_SIMULATED_OPTIONS:
            raise unsupported(f"The query option {name}")
        if name not in ACCEPTED_OPTIONS:
            raise query_error(f"The query parameter {name} is not supported")
        if method != "GET" and name not in WRITE_OPTIONS:
            raise unsupported(f"The query option {name} on a {method} request")


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


def parse_expand(
    raw: str, definition: TableDef, tables: Callable[[str], TableDef]
) -> list[Expansion]:
    expansions: list[Expansion] = []
    for item in split_top_level(raw, ","):
        item = item.strip()
        name, found, rest = item.partition("(")
        name = name.strip()
        if name.endswith("/$ref"):
            raise unsupported("$expand with /$ref")
        if name in definition.many_to_many:
            raise unsupported(f"Expanding the collection-valued navigation property {name}")
        lookup = definition.lookups.get(name)
        if lookup is None:
            raise unknown_property(definition, name)
        target = tables(lookup.target)
        select: tuple[str, ...] = ()
        if found:
            if not rest.endswith(")"):
                raise query_error(f"Syntax error: ')' expected in $expand '{item}'.")
            for option in split_top_level(rest[:-1], ";"):
                key, _, value = option.strip().partition("=")
                if key != "$select":
                    raise unsupported(f"The option {key or option.strip()} inside $expand")
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
