"""What a lead created from an address book member holds.

The email, the names (a new record has no CRM value a platform name could overwrite, and a
lead without a name is hard to work with), the values of the lead mappings whose direction
includes Dynamics, and a topic naming the address book. Columns a mapping cannot write (lookups,
linked fields, state, computed full name) are left out, as are empty values; a value that does
not fit its column's type is left out rather than failing the lead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.mappings.model import EMAIL_LABEL, DataMapping, MappedEntity
from shared.storage.crm_fields_repo import CrmField
from shared.storage.data_labels_repo import DataLabel, LabelType, label_key
from shared.sync.marketing_lists.values import email_field

NAME_LABELS = frozenset({"FIRSTNAME", "LASTNAME"})
TOPIC_COLUMN = "subject"
TOPIC_LENGTH = 300
# Columns the service computes or guards: never part of a create.
COMPUTED_COLUMNS = frozenset(
    {"fullname", "createdon", "modifiedon", "versionnumber", "statecode", "statuscode", "leadid"}
)
UNWRITABLE_TYPES = frozenset(
    {"Customer", "EntityName", "Lookup", "Owner", "State", "Status", "Uniqueidentifier", "Virtual"}
)
# Lead ids are derived from the email: creating the same lead twice (a resent batch, a
# redelivered run, two accounts' books at once) hits the same id and cannot make a second one.
LEAD_ID_NAMESPACE = uuid.UUID("0b3f5d0e-7a61-4c39-9f0e-6d2a4c1e8b57")

Convert = Callable[[Any], Any]


def lead_id_for(email: str) -> str:
    return str(uuid.uuid5(LEAD_ID_NAMESPACE, "lead:" + email.strip().lower()))


def _text(value: Any) -> str:
    return str(value)


def _integer(value: Any) -> int:
    if isinstance(value, int):
        return int(value)
    number = float(str(value))
    if not number.is_integer():  # 12.5 does not fit: left out, not cut to 12
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _number(value: Any) -> float:
    return float(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


_BY_CRM_TYPE: dict[str, Convert] = {
    "BigInt": _integer,
    "Boolean": _flag,
    "DateTime": _text,
    "Decimal": _number,
    "Double": _number,
    "Integer": _integer,
    "Memo": _text,
    "Money": _number,
    "Picklist": _integer,
    "String": _text,
}
_BY_LABEL_TYPE: dict[LabelType, Convert] = {
    LabelType.STRING: _text,
    LabelType.NUMERIC: _number,
    LabelType.DATE: _text,
    LabelType.BOOLEAN: _flag,
}


@dataclass(frozen=True)
class LeadField:
    label_key: str
    column: str
    convert: Convert


@dataclass(frozen=True)
class LeadTemplate:
    email_column: str
    fields: tuple[LeadField, ...]
    topic: str | None  # None when a mapping writes the topic itself

    def values(self, email: str, data_fields: Mapping[str, Any]) -> dict[str, Any]:
        """The create body for a member with this email and platform data fields."""
        by_key = {label_key(name): value for name, value in data_fields.items()}
        body: dict[str, Any] = {self.email_column: email}
        for lead_field in self.fields:
            raw = by_key.get(lead_field.label_key)
            if raw is None or raw == "":
                continue
            try:
                body[lead_field.column] = lead_field.convert(raw)
            except (TypeError, ValueError):
                continue
        if self.topic and TOPIC_COLUMN not in body:
            body[TOPIC_COLUMN] = self.topic
        return body


def lead_template(
    book_name: str,
    mappings: Iterable[DataMapping],
    labels: Iterable[DataLabel],
    crm_fields: Iterable[CrmField],
) -> LeadTemplate:
    mappings = [m for m in mappings if m.entity is MappedEntity.LEAD]
    label_types = {label_key(label.name): label.type for label in labels}
    column_types = {f.logical_name: f.attribute_type for f in crm_fields if f.entity == "lead"}
    email_column = email_field(mappings, MappedEntity.LEAD)
    fields: dict[str, LeadField] = {}
    for m in mappings:
        key = label_key(m.label)
        if key == EMAIL_LABEL or m.linked_field or m.primary_field in COMPUTED_COLUMNS:
            continue
        if key not in NAME_LABELS and not m.direction.to_dynamics:
            continue
        crm_type = column_types.get(m.primary_field)
        if crm_type in UNWRITABLE_TYPES or m.primary_field == email_column:
            continue
        convert = _BY_CRM_TYPE.get(crm_type or "") or _BY_LABEL_TYPE.get(
            label_types.get(key, LabelType.STRING), _text
        )
        fields.setdefault(m.primary_field, LeadField(key, m.primary_field, convert))
    topic = f"Dotdigital address book: {book_name}"[:TOPIC_LENGTH]
    return LeadTemplate(
        email_column=email_column,
        fields=tuple(fields.values()),
        topic=None if TOPIC_COLUMN in fields else topic,
    )
