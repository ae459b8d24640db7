"""What ingress reads of one mapped Dynamics table, from its metadata: the Web API collection,
the primary key, the columns to select (a lookup as `_<name>_value`), which columns are
choices (sent as value or label) and which lookups point to another mapped table (written as
a Campaign link to that table's record). A record read becomes the values the pure rules take,
keyed by the mapping's Dynamics names.

Paths through lookups (`parentcustomerid.name`) are read page by page (`linked_columns.py`):
their first lookup is one of the columns selected here, the rest is planned from the metadata
of the tables the lookups reach."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.metadata import LOOKUP_TYPES
from shared.errors import BadInputError, NotFoundError
from shared.storage.adobe_config_model import AdobeConfig, TableMapping
from shared.sync.adobe.linked_columns import (
    LinkedColumns,
    metadata_cache,
    plan_linked,
    read_columns,
)
from shared.sync.adobe.picklists import CHOICE_TYPES, FORMATTED


class MappedTableGone(NotFoundError):
    """A mapped Dynamics table the org no longer has."""


class ChangeTrackingOff(BadInputError):
    """A mapped Dynamics table whose change tracking was turned off since it was mapped."""


@dataclass(frozen=True)
class TableSchema:
    mapping: TableMapping
    entity_set: str
    primary_id: str
    columns: dict[str, str]  # logical name -> Web API name, every column read
    choices: frozenset[str]
    # lookup logical name -> the mapped table it points to (its Campaign resource and key)
    links: dict[str, TableMapping] = field(default_factory=dict)
    linked: LinkedColumns | None = None  # the mapped paths through lookups, if any

    @property
    def select(self) -> list[str]:
        return sorted(set(self.columns.values()))

    def key_of(self, record: Mapping[str, Any]) -> str:
        return str(record.get(self.primary_id) or "").lower()

    def values(self, record: Mapping[str, Any]) -> tuple[dict[str, object], dict[str, str]]:
        """(logical name -> value, logical name -> choice label) of a record read."""
        values: dict[str, object] = {}
        labels: dict[str, str] = {}
        for logical, web in self.columns.items():
            if web not in record:
                continue
            value = record[web]
            if logical in self.links or web != logical:  # a lookup: its id, compared lowercase
                value = str(value).lower() if value is not None else None
            values[logical] = value
            label = record.get(web + FORMATTED)
            if isinstance(label, str):
                labels[logical] = label
        return values, labels


def resolve(dv: DataverseClient, config: AdobeConfig, mapping: TableMapping) -> TableSchema:
    name = mapping.dynamics_table
    info = dv.table_info(name)
    if info is None:
        raise MappedTableGone(
            f"The Dynamics table '{name}' is mapped to {mapping.campaign_resource} but Dynamics "
            f"has no such table any more: remove the mapping (`adobe mappings remove-table "
            f"{config.account_id} {name}`)."
        )
    if not info.change_tracking:
        raise ChangeTrackingOff(
            f"The Dynamics table '{name}' no longer has change tracking enabled, which ingress "
            "reads its changes through: turn on Track changes in the table's properties."
        )
    types_of, targets_of = metadata_cache(dv)
    types = types_of(name)
    paths = [f.dynamics_field for f in mapping.fields if "." in f.dynamics_field]
    columns = read_columns(mapping, types, info.primary_id)
    linked = plan_linked(dv, name, paths, types_of, targets_of) if paths else None
    choices = frozenset(c for c in columns if types.get(c) in CHOICE_TYPES)
    choices |= linked.choices if linked is not None else frozenset()
    links: dict[str, TableMapping] = {}
    lookups = [c for c in columns if types.get(c) in LOOKUP_TYPES]
    if lookups:
        targets = targets_of(name)
        for column in lookups:
            reached = [config.table(t) for t in targets.get(column, ())]
            mapped = [t for t in reached if t is not None and t is not mapping]
            if len(mapped) == 1:  # a polymorphic lookup to several mapped tables stays an id
                links[column] = mapped[0]
    return TableSchema(
        mapping=mapping,
        entity_set=info.entity_set or f"{name}s",
        primary_id=info.primary_id,
        columns=columns,
        choices=choices,
        links=links,
        linked=linked,
    )
