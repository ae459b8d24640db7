"""OData URL pieces for the Dataverse Web API: names, keys, query strings, Prefer, entity ids.

- Keys: a GUID `contacts(<guid>)`, or an alternate key `contacts(emailaddress1='a@b.c')`
  (string values quoted, a quote doubled; several columns comma-separated).
- Query strings are built by hand so the wire shows `$select=a,b` as the docs do.
- `OData-EntityId: [Org]/api/data/v9.2/contacts(<guid>)` gives the id of a created record.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import quote

MAX_PAGE_SIZE = 5000
"""The default and maximum `odata.maxpagesize`; larger values are ignored by the service."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENTITY_ID = re.compile(
    r"/(?P<set>[A-Za-z_][A-Za-z0-9_]*)\((?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$"
)
# Characters left readable in query values and key segments (still valid in a URL).
_QUERY_SAFE = "$,'()@:!*/=;"
_PATH_SAFE = "'()=,@:!*$;+"

KeyValue = str | int | bool
Key = str | uuid.UUID | Mapping[str, KeyValue]
"""A record id (GUID) or alternate key columns -> values."""

# Entity set names of the tables the connector touches (EntitySetName); others get "+s".
ENTITY_SETS: dict[str, str] = {
    "account": "accounts",
    "activitypointer": "activitypointers",
    "annotation": "annotations",
    "appointment": "appointments",
    "contact": "contacts",
    "email": "emails",
    "lead": "leads",
    "list": "lists",
    "listmember": "listmembers",
    "phonecall": "phonecalls",
    "task": "tasks",
}


def check_name(name: str, what: str = "column") -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a Dataverse {what} name: {name!r}")
    return name


def entity_set_of(logical_name: str) -> str:
    check_name(logical_name, "table")
    return ENTITY_SETS.get(logical_name, logical_name + "s")


def check_guid(value: str | uuid.UUID) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"not a GUID: {value!r}") from None


def literal(value: KeyValue) -> str:
    """An OData literal: 'text' (quotes doubled), true/false, or a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def key_segment(key: Key) -> str:
    """`(<guid>)` or `(col='value',other=1)`, percent-encoded for a URL path."""
    if isinstance(key, uuid.UUID):
        return f"({key})"
    if isinstance(key, str):
        return f"({check_guid(key)})"
    if not key:
        raise ValueError("an alternate key needs at least one column")
    parts = [f"{check_name(name)}={literal(value)}" for name, value in key.items()]
    return "(" + quote(",".join(parts), safe=_PATH_SAFE) + ")"


def entity_path(entity_set: str, key: Key) -> str:
    return check_name(entity_set, "entity set") + key_segment(key)


def query_string(options: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{name}={quote(value, safe=_QUERY_SAFE)}" for name, value in options)


def select_option(select: Sequence[str]) -> str:
    if isinstance(select, str):
        raise TypeError("select is a sequence of column names, not one string")
    if not select:
        raise ValueError("$select needs at least one column: never read whole rows")
    return ",".join(check_name(name) for name in select)


def check_page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return page_size


def prefer(*preferences: str) -> dict[str, str]:
    values = [p for p in preferences if p]
    return {"Prefer": ",".join(values)} if values else {}


# Prefer: the choices' labels beside their values (`<column>@OData.Community...FormattedValue`),
# and each lookup's table (`_<lookup>_value@Microsoft.Dynamics.CRM.lookuplogicalname`): the one
# way to know whether a Customer lookup points at an account or a contact.
LOOKUP_TABLE = "Microsoft.Dynamics.CRM.lookuplogicalname"
FORMATTED_VALUES = (
    f'odata.include-annotations="OData.Community.Display.V1.FormattedValue,{LOOKUP_TABLE}"'
)


def max_page_size_preference(page_size: int) -> str:
    return f"odata.maxpagesize={check_page_size(page_size)}"


def entity_id_from_url(url: str | None) -> str | None:
    """The GUID in `.../contacts(<guid>)` (OData-EntityId, Location, @odata.id)."""
    if not url:
        return None
    match = _ENTITY_ID.search(url)
    return match.group("id").lower() if match else None


def entity_set_from_url(url: str | None) -> str | None:
    if not url:
        return None
    match = _ENTITY_ID.search(url)
    return match.group("set") if match else None
