"""Linked fields (a field of the record a lookup points to, e.g. a contact's parent account
name) for one page of members: one `$batch` of GETs for the distinct lookup ids of the page
(`shared.clients.dataverse.rows_by_id`, which the Adobe Campaign ingress reads through too).

A lookup that points to no row of the linked entity (deleted, or a Customer lookup pointing at
a contact when the mapping links account) has no value: the label's default applies. A GET the
service could not answer (anything but 200 or 404) leaves its id unresolved, and the members
that need it are skipped for this run rather than sent with a wrong (empty) value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.rows_by_id import RowKey, read_rows
from shared.mappings.model import DataMapping
from shared.sync.marketing_lists.values import lookup_column

LinkedKey = RowKey  # (linked entity, id)


@dataclass
class LinkedValues:
    rows: dict[LinkedKey, Mapping[str, Any]] = field(default_factory=dict)
    unresolved: set[LinkedKey] = field(default_factory=set)
    batch_calls: int = 0

    def missing_for(self, record: Mapping[str, Any], mappings: Iterable[DataMapping]) -> bool:
        """True if a linked value this record needs could not be read."""
        return any(key in self.unresolved for key in _keys(record, mappings))


def _keys(record: Mapping[str, Any], mappings: Iterable[DataMapping]) -> Iterable[LinkedKey]:
    for m in mappings:
        if m.linked_field and m.linked_entity:
            target = record.get(lookup_column(m.primary_field))
            if target:
                yield m.linked_entity, str(target)


def resolve_linked(
    dataverse: DataverseClient,
    records: Sequence[Mapping[str, Any]],
    mappings: Sequence[DataMapping],
) -> LinkedValues:
    linked = [m for m in mappings if m.linked_field and m.linked_entity]
    result = LinkedValues()
    if not linked:
        return result
    fields: dict[str, list[str]] = {}
    for m in linked:
        assert m.linked_entity is not None and m.linked_field is not None
        names = fields.setdefault(m.linked_entity, [])
        if m.linked_field not in names:
            names.append(m.linked_field)
    wanted = [key for record in records for key in _keys(record, linked)]
    read = read_rows(dataverse, wanted, fields)
    # Keyed as `platform_values` looks them up: the id as the lookup column gave it.
    return LinkedValues(rows=read.rows, unresolved=read.unresolved, batch_calls=read.batch_calls)
