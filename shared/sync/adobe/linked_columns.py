"""Linked columns of a table mapping (`parentcustomerid.name`, at most two lookups deep), read
for one page of records: change tracking takes no `$expand`, so the records the page's lookups
point to are read by id (`rows_by_id`, one `$batch` of GETs per 1,000 distinct records), one
hop after the other: one `$batch` for a depth of 1, a second for the ids the first found.

Which table a lookup points to comes from the page itself
(`_<lookup>_value@Microsoft.Dynamics.CRM.lookuplogicalname`), so a Customer lookup reaches an
account or a contact, each read with the columns that table has; a path whose column the
reached table lacks (a contact has no `name`) has no value.

A linked value is what a column of the record holds: an empty lookup, a linked record deleted
since (404) or an empty column all give an empty value, sent to Campaign as such (the field
is cleared, as for an empty column of the record). A linked record Dataverse could not answer
for (an error other than 404 in the `$batch`) holds its records back with `unread`: they are
tried again at the next run rather than sent with a wrong, empty, value.

Read for each page of the ingress (`ingress/sync_type.py`) and of the file drop's read
(`file_load.py`, which leaves such a record out of the file and sends it over the API after).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.metadata import LOOKUP_TYPES
from shared.clients.dataverse.odata import FORMATTED_VALUES, LOOKUP_TABLE, entity_set_of
from shared.clients.dataverse.rows_by_id import RowKey, read_rows
from shared.storage.adobe_config_model import TableMapping
from shared.sync.adobe.picklists import CHOICE_TYPES, FORMATTED


def web_name(column: str, kind: str | None) -> str:
    """The Web API property of a column: a lookup reads as `_<name>_value`."""
    return f"_{column}_value" if kind in LOOKUP_TYPES else column


def read_columns(
    mapping: TableMapping, types: Mapping[str, str], primary_id: str
) -> dict[str, str]:
    """Logical name -> Web API name of the columns read with a mapping's records: the fields
    mapped directly, the lookups its linked paths start with, the filters' columns and the
    primary key. A column Dynamics no longer has is left out (there is nothing to read)."""
    wanted = {f.dynamics_field.split(".", 1)[0] for f in mapping.fields}
    wanted |= {rule.dynamics_field for rule in mapping.filter.rules}
    wanted.add(primary_id)
    return {name: web_name(name, types[name]) for name in sorted(wanted) if name in types}


@dataclass(frozen=True)
class LinkedColumns:
    """What reading the linked columns of one table takes, from the metadata of every table
    the lookups reach."""

    table: str  # the mapped table, whose records hold the first lookups
    paths: tuple[str, ...]
    targets: Mapping[str, Mapping[str, tuple[str, ...]]]  # table -> lookup -> tables it reaches
    select: Mapping[str, tuple[str, ...]]  # reached table -> Web API columns read of it
    kinds: Mapping[tuple[str, str], str]  # (reached table, column) -> AttributeType
    entity_sets: Mapping[str, str] = field(default_factory=dict)

    @property
    def first_steps(self) -> frozenset[str]:
        """The mapped table's lookups the paths start with (read with the records)."""
        return frozenset(p.split(".", 1)[0] for p in self.paths)

    def kind_of(self, path: str) -> str | None:
        """The AttributeType of the path's last column, in a table that has it."""
        column = path.rsplit(".", 1)[1]
        return next((k for (_, c), k in sorted(self.kinds.items()) if c == column), None)

    @property
    def choices(self) -> frozenset[str]:
        """The paths whose last column is a choice (sent as its value or its label)."""
        return frozenset(p for p in self.paths if self.kind_of(p) in CHOICE_TYPES)

    @property
    def dates(self) -> frozenset[str]:
        return frozenset(p for p in self.paths if self.kind_of(p) == "DateTime")

    def entity_set(self, table: str) -> str:
        return self.entity_sets.get(table) or entity_set_of(table)


def plan_linked(
    dv: DataverseClient,
    table: str,
    paths: Sequence[str],
    types: Callable[[str], Mapping[str, str]],
    targets: Callable[[str], Mapping[str, tuple[str, ...]]],
) -> LinkedColumns:
    """The reads `paths` take. `types` and `targets` answer a table's column types and lookup
    targets (cached by the caller: each table is asked once)."""
    select: dict[str, set[str]] = {}
    kinds: dict[tuple[str, str], str] = {}
    reached_by: dict[str, dict[str, tuple[str, ...]]] = {}
    for path in paths:
        *lookups, column = path.split(".")
        tables = {table}
        for depth, step in enumerate(lookups):
            following: set[str] = set()
            for holder in sorted(tables):
                if types(holder).get(step) not in LOOKUP_TYPES:
                    continue  # this table has no such lookup: the path ends empty here
                reached = tuple(targets(holder).get(step, ()))
                reached_by.setdefault(holder, {})[step] = reached
                if depth > 0:
                    select.setdefault(holder, set()).add(web_name(step, "Lookup"))
                following |= set(reached)
            tables = following
        for holder in sorted(tables):
            kind = types(holder).get(column)
            if kind is not None:
                select.setdefault(holder, set()).add(web_name(column, kind))
                kinds[(holder, column)] = kind
    entity_sets = {}
    for reached_table in select:
        info = dv.table_info(reached_table)
        if info is not None and info.entity_set:
            entity_sets[reached_table] = info.entity_set
    return LinkedColumns(
        table=table,
        paths=tuple(paths),
        targets=reached_by,
        select={t: tuple(sorted(c)) for t, c in select.items()},
        kinds=kinds,
        entity_sets=entity_sets,
    )


def metadata_cache(
    dv: DataverseClient,
) -> tuple[Callable[[str], Mapping[str, str]], Callable[[str], Mapping[str, tuple[str, ...]]]]:
    """`types` and `targets` for `plan_linked`, each table's metadata read once."""

    @cache
    def types(table: str) -> Mapping[str, str]:
        return {a.logical_name: a.attribute_type for a in dv.entity_attributes(table)}

    @cache
    def targets(table: str) -> Mapping[str, tuple[str, ...]]:
        return dv.lookup_targets(table)

    return types, targets


@dataclass
class LinkedPage:
    """The linked values of one page's records, by record key then path."""

    values: dict[str, dict[str, object]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # record key -> the path whose record Dynamics could not answer for: the record waits
    unread: dict[str, str] = field(default_factory=dict)
    batch_calls: int = 0


def unread_message(path: str) -> str:
    return f"Dynamics did not answer the read of the record its {path} comes from"


class _Walk:
    """Follows the paths through the rows read so far."""

    def __init__(self, linked: LinkedColumns) -> None:
        self.linked = linked
        self.rows: dict[RowKey, Mapping[str, Any]] = {}
        self.unresolved: set[RowKey] = set()

    def reference(self, row: Mapping[str, Any], table: str, lookup: str) -> RowKey | None:
        web = web_name(lookup, "Lookup")
        value = row.get(web)
        if not value:
            return None
        target = row.get(f"{web}@{LOOKUP_TABLE}")
        if not isinstance(target, str):  # no annotation: only a lookup to one table can tell
            reached = self.linked.targets.get(table, {}).get(lookup, ())
            if len(reached) != 1:
                return None
            target = reached[0]
        return target, str(value).lower()

    def hop(
        self, record: Mapping[str, Any], steps: Sequence[str]
    ) -> RowKey | Literal[False] | None:
        """The key of the row `steps` lead to; None when a lookup on the way is empty or its
        row absent; False when a row on the way could not be read."""
        row, table = record, self.linked.table
        for number, step in enumerate(steps):
            key = self.reference(row, table, step)
            if key is None or number == len(steps) - 1:
                return key
            if key in self.unresolved:
                return False
            found = self.rows.get(key)
            if found is None:
                return None
            row, table = found, key[0]
        return None


def read_linked(
    dv: DataverseClient,
    linked: LinkedColumns,
    records: Iterable[Mapping[str, Any]],
    key_of: Callable[[Mapping[str, Any]], str],
) -> LinkedPage:
    """The linked values of `records`: one read per hop for the whole page."""
    page = LinkedPage()
    records = list(records)
    walk = _Walk(linked)
    split = {path: path.split(".") for path in linked.paths}
    depth = max((len(steps) - 1 for steps in split.values()), default=0)
    for hop in range(1, depth + 1):
        wanted = []
        for record in records:
            for steps in split.values():
                if len(steps) - 1 >= hop:
                    found = walk.hop(record, steps[:hop])
                    if found and found not in walk.rows and found not in walk.unresolved:
                        wanted.append(found)
        read = read_rows(dv, wanted, linked.select, entity_set=linked.entity_set,
                         prefer=FORMATTED_VALUES)  # fmt: skip
        walk.rows.update(read.rows)
        walk.unresolved |= read.unresolved
        page.batch_calls += read.batch_calls
    for record in records:
        _record_values(page, walk, split, key_of(record), record)
    return page


def _record_values(
    page: LinkedPage,
    walk: _Walk,
    split: Mapping[str, list[str]],
    key: str,
    record: Mapping[str, Any],
) -> None:
    values: dict[str, object] = {}
    labels: dict[str, str] = {}
    for path, steps in split.items():
        *lookups, column = steps
        reached = walk.hop(record, lookups)
        if reached is False or (reached and reached in walk.unresolved):
            page.unread[key] = path
            return
        row = walk.rows.get(reached) if reached else None
        if not reached or row is None:
            values[path] = None  # an empty lookup, a record gone, or a table without it
            continue
        web = web_name(column, walk.linked.kinds.get((reached[0], column)))
        value = row.get(web)
        if web != column and value is not None:  # a lookup: its id, compared lowercase
            value = str(value).lower()
        values[path] = value
        label = row.get(web + FORMATTED)
        if isinstance(label, str):
            labels[path] = label
    page.values[key], page.labels[key] = values, labels
