"""Turn a CRM record into the data-field values a mapping sends to the platform, and back.

A label's default value applies when the CRM value is empty. Linked fields (a field of the
record a lookup points to) are read from `linked`, keyed by (entity, id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.mappings.model import EMAIL_LABEL, DataMapping, MappedEntity
from shared.storage.data_labels_repo import DataLabel, LabelType, label_key

STATE_COLUMN = "statecode"


def lookup_column(field: str) -> str:
    """The Web API's read-only property holding a lookup's id."""
    return f"_{field}_value"


def outbound(mappings: Iterable[DataMapping], entity: MappedEntity) -> list[DataMapping]:
    """Mappings that send this entity's fields to the platform (the email mapping included)."""
    return [m for m in mappings if m.entity is entity and m.direction.to_platform]


def inbound(mappings: Iterable[DataMapping], entity: MappedEntity) -> list[DataMapping]:
    """Mappings whose platform value is written back to this entity (never the email)."""
    return [
        m
        for m in mappings
        if m.entity is entity and m.direction.to_dynamics and label_key(m.label) != EMAIL_LABEL
    ]


def email_field(mappings: Iterable[DataMapping], entity: MappedEntity) -> str:
    for m in mappings:
        if m.entity is entity and label_key(m.label) == EMAIL_LABEL:
            return m.primary_field
    return "emailaddress1"


def select_columns(mappings: Iterable[DataMapping], entity: MappedEntity) -> list[str]:
    """The `$select` for members: id, email, state and every mapped (or lookup) column."""
    columns = [f"{entity.value}id", STATE_COLUMN]
    for m in mappings:
        if m.entity is not entity:
            continue
        column = lookup_column(m.primary_field) if m.linked_field else m.primary_field
        if column not in columns:
            columns.append(column)
    email = email_field(mappings, entity)
    if email not in columns:
        columns.append(email)
    return columns


def convert(value: Any, label_type: LabelType) -> Any:
    """A CRM value in the form the platform's data field type takes."""
    if value is None or value == "":
        return None
    if label_type is LabelType.BOOLEAN:
        if isinstance(value, str):  # a label's default value is text: "false" is False
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)
    if label_type is LabelType.NUMERIC:
        return value if isinstance(value, int | float) else float(value)
    if label_type is LabelType.DATE:
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value)
    return str(value)


@dataclass(frozen=True)
class _Field:
    """One mapping, resolved once for a whole list: where its value comes from and how it is
    converted (a push computes values for every member; this keeps per-member work small)."""

    name: str
    column: str
    label_type: LabelType
    default: Any  # the label's default value, converted (None: none)
    default_text: str | None  # as the label has it, when it cannot be converted
    linked: tuple[str, str] | None  # (linked entity, linked field)


class ValueMapper:
    """`platform_values` for many records of one entity, with the mappings resolved once."""

    def __init__(self, mappings: Iterable[DataMapping], labels: Mapping[str, DataLabel]) -> None:
        self._fields: list[_Field] = []
        for m in mappings:
            key = label_key(m.label)
            if key == EMAIL_LABEL:
                continue
            label = labels.get(key)
            label_type = label.type if label else LabelType.STRING
            default: Any = None
            default_text = None
            if label is not None and label.default_value not in (None, ""):
                try:
                    default = convert(label.default_value, label_type)
                except (TypeError, ValueError):  # raised again for each member that needs it
                    default_text = label.default_value
            linked = None
            if m.linked_field:
                assert m.linked_entity is not None
                linked = (m.linked_entity, m.linked_field)
            column = lookup_column(m.primary_field) if linked else m.primary_field
            name = label.name if label else m.label
            self._fields.append(_Field(name, column, label_type, default, default_text, linked))

    def __call__(
        self,
        record: Mapping[str, Any],
        linked: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Label -> value for one record."""
        values: dict[str, Any] = {}
        for f in self._fields:
            if f.linked:
                target_id = record.get(f.column)
                target = (linked or {}).get((f.linked[0], str(target_id))) if target_id else None
                raw = target.get(f.linked[1]) if target else None
            else:
                raw = record.get(f.column)
            value = convert(raw, f.label_type)
            if value is None and f.default_text is not None:
                convert(f.default_text, f.label_type)  # raises, as it did when resolved
            if value is None:
                value = f.default
            values[f.name] = value
        return values


def platform_values(
    record: Mapping[str, Any],
    mappings: Iterable[DataMapping],
    labels: Mapping[str, DataLabel],
    *,
    linked: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Label -> value for one record; `labels` is keyed by `label_key(name)`."""
    return ValueMapper(mappings, labels)(record, linked)


def values_hash(email: str, values: Mapping[str, Any]) -> str:
    payload = json.dumps([email.lower(), values], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
