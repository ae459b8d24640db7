"""Whether a Dynamics column's type fits a Campaign field's, checked when a field mapping is
saved. Adobe's integration: "primitive Dynamics types map to Campaign types; others are sent as
strings". So a Campaign string takes any column; a typed field refuses only the clear
mismatches (a date into a boolean, a number into a date, anything into a collection), and
allows what a replacement rule can turn into its values (a choice into a boolean, text into a
number)."""

from __future__ import annotations

from shared.clients.adobe.metadata import CampaignField
from shared.sync.adobe.picklists import CHOICE_TYPES

# Dataverse AttributeType values, grouped.
DATES = frozenset({"DateTime"})
WHOLE = frozenset({"Integer", "BigInt"})
FRACTIONS = frozenset({"Decimal", "Double", "Money"})
BOOLEANS = frozenset({"Boolean"})
CHOICES = CHOICE_TYPES
LOOKUPS = frozenset({"Lookup", "Customer", "Owner"})
IDS = frozenset({"Uniqueidentifier"})
TEXT = frozenset({"String", "Memo", "EntityName"})

# Campaign kind -> the Dynamics types it takes (a type not named in any group above, e.g. an
# image or a file column, is sent as a string and left to Campaign).
_ACCEPTS: dict[str, frozenset[str]] = {
    "boolean": BOOLEANS | WHOLE | CHOICES | TEXT - {"Memo"},
    "number": WHOLE | FRACTIONS | BOOLEANS | CHOICES | TEXT - {"Memo"},
    "date": DATES | TEXT - {"Memo"},
    "datetime": DATES | TEXT - {"Memo"},
    "enumeration": CHOICES | BOOLEANS | WHOLE | TEXT - {"Memo"},
    "link": LOOKUPS | IDS | TEXT - {"Memo"},
    "collection": frozenset(),
    "item": frozenset(),
}
_KNOWN = DATES | WHOLE | FRACTIONS | BOOLEANS | CHOICES | LOOKUPS | IDS | TEXT
_ADVICE = {
    "boolean": "a Boolean column (or a choice, with replacements to true/false)",
    "number": "a number column (Whole number, Decimal, Float, Currency)",
    "date": "a Date and time column",
    "datetime": "a Date and time column",
    "enumeration": "a choice column (replacements turn its values into the enumeration's)",
    "link": "a lookup column (or the linked record's id)",
}


def refusal(dynamics_type: str, field: CampaignField, *, where: str, column: str) -> str | None:
    """Why `column` (of `dynamics_type`) cannot go into `field` (named `where`), or None."""
    if field.kind in ("collection", "item"):
        what = "a collection of linked records" if field.kind == "collection" else "a group"
        return (
            f"{where} is {what}, not a value a column can be written to: map a field of "
            f"{field.target or 'it'} instead (see its fields with `GET /profileAndServicesExt/"
            f"resourceType/{field.target or '<resource>'}`)."
        )
    accepts = _ACCEPTS.get(field.kind)
    if accepts is None or dynamics_type not in _KNOWN or dynamics_type in accepts:
        return None
    return (
        f"'{column}' is a {dynamics_type} column and {where} is a {field.kind} field: map "
        f"{_ADVICE[field.kind]} to it, or map '{column}' to a Campaign text field (values of "
        "other types are sent as strings)."
    )
