"""Choice columns sent to Campaign: "Use technical values in Dynamics picklists?" Yes sends the
option's value, No its label (the Web API's formatted value, read with
`Prefer: odata.include-annotations`). A multi-select choice reads as "1,3" and formats as
"Red; Blue"; either is sent whole."""

from __future__ import annotations

from collections.abc import Mapping

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
# The AttributeTypes of choice columns.
CHOICE_TYPES = frozenset({"Picklist", "State", "Status", "MultiSelectPicklist"})


def label_of(record: Mapping[str, object], column: str) -> str | None:
    label = record.get(column + FORMATTED)
    return label if isinstance(label, str) else None


def outgoing(value: object, label: str | None, technical: bool) -> object:
    """The value Campaign receives. Without a label (a read without annotations, or an option
    deleted since) the value is sent: a number Campaign can still be told about beats a blank."""
    if value is None:
        return None
    if technical or label is None:
        return value
    return label
