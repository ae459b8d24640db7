"""The value forms of a RemoteExecutionContext as plain JSON: WCF dates, GUIDs, and the typed
values (`__type` Entity, EntityReference, OptionSetValue, Money, EntityCollection) in Attributes.

Dataverse serializes the context with .NET's DataContractJsonSerializer, so a typed value is an
object whose `__type` names the contract ("EntityReference:http://schemas.microsoft.com/...").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, JsonValue

# `/Date(1506409448000-0700)/`: milliseconds since 1970-01-01 UTC, then optionally the sender's
# UTC offset. The offset only says which zone the sender was in: it does NOT shift the instant.
_WCF_DATE = re.compile(r"^/Date\((-?\d{1,15})([+-]\d{4})?\)/$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def wcf_date(text: str) -> datetime | None:
    """The instant of a WCF date string, or None when `text` is not one. Raises ValueError for
    a WCF date out of datetime's range."""
    match = _WCF_DATE.match(text)
    if match is None:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=int(match.group(1)))
    except OverflowError:
        raise ValueError("the WCF date is out of range") from None


def _instant(value: object) -> object:
    if isinstance(value, str) and value.startswith("/Date("):
        instant = wcf_date(value)
        if instant is None:
            raise ValueError(r"is not a WCF date like /Date(1506409448000-0700)/")
        return instant
    if not isinstance(value, str | datetime):
        # Not a number either: pydantic would read one as a Unix time, Dataverse never sends it.
        raise ValueError(r"should be a WCF date like /Date(1506409448000-0700)/")
    return value  # ISO 8601 text or a datetime: pydantic's own rules (an offset is required)


def _guid(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError("is not a GUID")
    return value.lower()


# A GUID as Dataverse sends it, lower-cased (Dataverse is case-insensitive about them).
Guid = Annotated[str, AfterValidator(_guid)]
# A date as a WCF date string (or ISO 8601 with an offset).
WcfDate = Annotated[AwareDatetime, BeforeValidator(_instant)]


def is_guid(value: object) -> bool:
    return isinstance(value, str) and _GUID.match(value) is not None


def contract(value: object) -> str:
    """The contract name of a typed value ("EntityReference"), or "" for a plain one."""
    if isinstance(value, dict):
        kind = value.get("__type")
        if isinstance(kind, str):
            return kind.split(":", 1)[0]
    return ""


def pairs(value: object, where: str) -> dict[str, JsonValue]:
    """A `[{"key": ..., "value": ...}]` list as a dict (a later key wins, as in .NET)."""
    if not isinstance(value, list):
        raise ValueError(f"{where} should be a list of key/value pairs")
    found: dict[str, JsonValue] = {}
    for n, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ValueError(f"{where}.{n} should be an object with a string key")
        found[item["key"]] = item.get("value")
    return found


def plain(value: JsonValue, where: str) -> JsonValue:
    """A value of Attributes in plain JSON: an EntityReference becomes its id, an OptionSetValue
    or Money its number, a WCF date ISO 8601, an Entity its plain attributes, an
    EntityCollection a list of those. Anything else stays as it came."""
    if isinstance(value, str):
        instant = wcf_date(value) if value.startswith("/Date(") else None
        return instant.isoformat() if instant is not None else value
    if isinstance(value, list):
        return [plain(item, f"{where}.{n}") for n, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    kind = contract(value)
    if kind == "EntityReference":
        return reference_id(value, where)
    if kind in ("OptionSetValue", "Money"):
        number = value.get("Value")
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"{where}: a {kind} should have a numeric Value")
        return number
    if kind == "Entity":
        return attributes(value, where)
    if kind == "EntityCollection":
        entities = value.get("Entities")
        if not isinstance(entities, list):
            raise ValueError(f"{where}: an EntityCollection should have a list of Entities")
        return [attributes(e, f"{where}.Entities.{n}") for n, e in enumerate(entities)]
    return {k: plain(v, f"{where}.{k}") for k, v in value.items() if k != "__type"}


def attributes(entity: JsonValue, where: str) -> dict[str, JsonValue]:
    """An Entity's Attributes as plain values."""
    if not isinstance(entity, dict):
        raise ValueError(f"{where} should be an Entity object")
    found = pairs(entity.get("Attributes", []), f"{where}.Attributes")
    return {key: plain(value, f"{where}.Attributes.{key}") for key, value in found.items()}


def reference_id(value: JsonValue, where: str) -> str:
    if not isinstance(value, dict) or not is_guid(value.get("Id")):
        raise ValueError(f"{where}: an EntityReference should have a GUID Id")
    return str(value["Id"]).lower()
