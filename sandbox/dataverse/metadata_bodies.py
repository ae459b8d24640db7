"""Parsing the bodies of metadata writes in the Dataverse sandbox: the `@odata.type` of a
definition, English labels, a column's kind and `MaxLength`, Boolean and local Picklist
options (PAD `webapi/create-update-column-definitions-using-web-api.md`). Malformed bodies are
refused with 400 and the sandbox's code `0x80048d19` (Dataverse's codes for these are not
documented)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.dataverse.odata import bad_request, unsupported
from sandbox.dataverse.schema import Column
from sandbox.dataverse.state import ENGLISH

CRM = "Microsoft.Dynamics.CRM."
INVALID_ARGUMENT = "0x80048d19"  # the sandbox's code for a malformed metadata body

# AttributeMetadata types a column can be created with -> (sandbox kind, AttributeType).
COLUMN_TYPES = {
    "StringAttributeMetadata": ("string", "String"),
    "MemoAttributeMetadata": ("memo", "Memo"),
    "BooleanAttributeMetadata": ("bool", "Boolean"),
    "DateTimeAttributeMetadata": ("datetime", "DateTime"),
    "IntegerAttributeMetadata": ("int", "Integer"),
    "PicklistAttributeMetadata": ("picklist", "Picklist"),
}
_MAX_LENGTHS = {"string": 4000, "memo": 1_048_576}


def type_name(body: Mapping[str, Any]) -> str:
    raw = str(body.get("@odata.type") or "")
    return raw.lstrip("#").removeprefix(CRM)


def english_label(body: Mapping[str, Any], name: str) -> str | None:
    """The English label of a Label property (`LocalizedLabels`), or None."""
    value = body.get(name)
    if not isinstance(value, Mapping):
        return None
    for item in value.get("LocalizedLabels") or []:
        if isinstance(item, Mapping) and item.get("LanguageCode") == ENGLISH and item.get("Label"):
            return str(item["Label"])
    return None


def parse_column(name: str, kind: str, body: Mapping[str, Any]) -> Column:
    max_length = None
    if kind in _MAX_LENGTHS:
        raw = body.get("MaxLength")
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
            raise bad_request(
                f"MaxLength is required for the attribute {name} and must be a positive integer.",
                INVALID_ARGUMENT,
            )
        if raw > _MAX_LENGTHS[kind]:
            raise bad_request(
                f"MaxLength {raw} of the attribute {name} is over {_MAX_LENGTHS[kind]}.",
                INVALID_ARGUMENT,
            )
        max_length = raw
    return Column(name, kind, max_length)


def parse_options(name: str, kind: str, body: Mapping[str, Any]) -> list[tuple[int, str]]:
    option_set = body.get("OptionSet")
    if kind == "bool":
        if not isinstance(option_set, Mapping) or not all(
            isinstance(option_set.get(key), Mapping) for key in ("TrueOption", "FalseOption")
        ):
            raise bad_request(
                f"The Boolean attribute {name} needs an OptionSet with TrueOption and FalseOption.",
                INVALID_ARGUMENT,
            )
        return [
            (
                int(option_set[key].get("Value", value)),
                english_label(option_set[key], "Label") or "",
            )
            for key, value in (("FalseOption", 0), ("TrueOption", 1))
        ]
    if kind != "picklist":
        return []
    if body.get("GlobalOptionSet@odata.bind") is not None:
        raise unsupported("A column bound to a global option set")
    options = option_set.get("Options") if isinstance(option_set, Mapping) else None
    if not isinstance(options, list) or not options:
        raise bad_request(
            f"The Picklist attribute {name} needs a local OptionSet with Options.",
            INVALID_ARGUMENT,
        )
    parsed = []
    for option in options:
        value = option.get("Value") if isinstance(option, Mapping) else None
        text = english_label(option, "Label") if isinstance(option, Mapping) else None
        if not isinstance(value, int) or isinstance(value, bool) or text is None:
            raise bad_request(
                f"Every option of {name} needs an integer Value and an English Label.",
                INVALID_ARGUMENT,
            )
        parsed.append((value, text))
    if len({value for value, _ in parsed}) != len(parsed):
        raise bad_request(f"The options of {name} repeat a value.", INVALID_ARGUMENT)
    return parsed
