"""Platform data-field values on their way into Dynamics: compare them across the two APIs'
spellings, and convert them to the CRM column's type.

The two sides spell the same value differently (Dotdigital `5.0` and Dataverse `5`,
`2026-01-02T00:00:00` and `2026-01-02T00:00:00Z`, `"true"` and `true`), so values are compared
in a canonical form per label type, never as raw JSON.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.storage.data_labels_repo import LabelType

TEXT_TYPES = frozenset({"String", "Memo"})
WHOLE_TYPES = frozenset({"Integer", "BigInt", "Picklist"})
DECIMAL_TYPES = frozenset({"Decimal", "Double", "Money"})
# Columns a platform value can be written to. Lookups, owners, state/status and ids need more
# than a plain value (a bind, an action), so inbound mappings to them are left out.
WRITABLE_TYPES = TEXT_TYPES | WHOLE_TYPES | DECIMAL_TYPES | {"Boolean", "DateTime"}
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
# A CRM column of unknown type (CrmMetadata has not stored it) is written as its label's type.
_BY_LABEL = {
    LabelType.STRING: "String",
    LabelType.NUMERIC: "",
    LabelType.DATE: "DateTime",
    LabelType.BOOLEAN: "Boolean",
}


def writable(attribute_type: str) -> bool:
    """Whether a column of this type takes a platform value ("" = type unknown: try it)."""
    return attribute_type == "" or attribute_type in WRITABLE_TYPES


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _moment(value: Any) -> datetime | date | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return None if value not in (0, 1) else bool(value)
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def canonical(value: Any, label_type: LabelType) -> Any:
    """A form in which equal values of either side compare equal."""
    if _empty(value):
        return None
    if label_type is LabelType.NUMERIC:
        try:
            return _number(value)  # not float(): "NaN" would then differ from itself
        except ValueError:
            return str(value).strip()
    if label_type is LabelType.BOOLEAN:
        flag = _bool(value)
        return str(value).strip() if flag is None else flag
    if label_type is LabelType.DATE:
        moment = _moment(value)
        if isinstance(moment, datetime):
            moment = moment.astimezone(UTC)
            # A date-only value and midnight UTC of that day are the same date.
            if moment.time() == datetime.min.time():
                return moment.date().isoformat()
        return moment.isoformat() if moment is not None else str(value).strip()
    return str(value)


def same(left: Any, right: Any, label_type: LabelType) -> bool:
    return bool(canonical(left, label_type) == canonical(right, label_type))


def to_crm(value: Any, attribute_type: str, label_type: LabelType) -> Any:
    """The platform value as the CRM column takes it; ValueError if it cannot be one."""
    kind = attribute_type or _BY_LABEL[label_type]
    if _empty(value):
        return None
    if kind in TEXT_TYPES:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if kind in WHOLE_TYPES:
        number = _number(value)
        if number != int(number):
            raise ValueError(f"'{value}' is not a whole number")
        return int(number)
    if kind in DECIMAL_TYPES:
        return _number(value)
    if kind == "Boolean":
        flag = _bool(value)
        if flag is None:
            raise ValueError(f"'{value}' is not a yes/no value")
        return flag
    if kind == "DateTime":
        moment = _moment(value)
        if moment is None:
            raise ValueError(f"'{value}' is not a date")
        if isinstance(moment, datetime):
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return moment.isoformat()
    # Unknown column type with a numeric label: send the number as it is.
    number = _number(value)
    return int(number) if number == int(number) else number


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{value}' is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"'{value}' is not a number")
    return number
