"""The rows of the Dataverse sandbox: tables, versions, tombstones, keys, list membership.

- Every write takes the next value of one organization-wide version counter (like SQL
  `rowversion`): the row's `versionnumber`, its weak ETag `W/"<version>"`, and what change
  tracking compares against. Deletes leave a tombstone (version, id) for delta reads.
- Rows are kept ordered by id, the order reads page in without `$orderby`.
- Alternate keys (emailaddress1 on contact and lead) are unique, compared case-insensitively.
- A `Transaction` records how to undo each write, so a failed change set rolls back.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.dataverse.schema import TableDef

Undo = Callable[[], object]


class Row:
    __slots__ = ("id", "values", "version")

    def __init__(self, row_id: str, values: dict[str, Any], version: int) -> None:
        self.id = row_id
        self.values = values
        self.version = version

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    def copy(self) -> Row:
        return Row(self.id, dict(self.values), self.version)


def key_value(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@dataclass
class Transaction:
    """Undo steps for the writes of one change set, run in reverse on failure."""

    steps: list[Undo] = field(default_factory=list)

    def record(self, undo: Undo) -> None:
        self.steps.append(undo)

    def rollback(self) -> None:
        while self.steps:
            self.steps.pop()()


class Table:
    def __init__(self, definition: TableDef) -> None:
        self.definition = definition
        self.rows: dict[str, Row] = {}
        self._order: list[str] = []
        self.tombstones: list[tuple[int, str]] = []  # (version, id), in version order
        self.key_index: dict[tuple[str, ...], dict[tuple[Any, ...], str]] = {
            key: {} for key in definition.alternate_keys
        }

    def __len__(self) -> int:
        return len(self.rows)

    # Reading ----------------------------------------------------------------------------------

    def get(self, row_id: str) -> Row | None:
        return self.rows.get(row_id.lower())

    def ids_after(self, last_id: str | None) -> Iterator[str]:
        """Ids in order, starting after `last_id` (from the start if None)."""
        start = 0 if last_id is None else bisect.bisect_right(self._order, last_id.lower())
        for position in range(start, len(self._order)):
            yield self._order[position]

    def by_key(self, columns: tuple[str, ...], values: tuple[Any, ...]) -> Row | None:
        index = self.key_index.get(columns)
        if index is None:
            return None
        row_id = index.get(tuple(key_value(v) for v in values))
        return None if row_id is None else self.rows.get(row_id)

    def key_owner(self, values: dict[str, Any]) -> tuple[tuple[str, ...], str] | None:
        """(key columns, id of the row holding them) for the first alternate key `values`
        would collide on."""
        for columns, index in self.key_index.items():
            entry = tuple(key_value(values.get(c)) for c in columns)
            if any(v is None for v in entry):
                continue
            owner = index.get(entry)
            if owner is not None:
                return columns, owner
        return None

    # Writing ----------------------------------------------------------------------------------

    def _index(self, row: Row) -> None:
        for columns, index in self.key_index.items():
            entry = tuple(key_value(row.values.get(c)) for c in columns)
            if all(v is not None for v in entry):
                index[entry] = row.id

    def _unindex(self, row: Row) -> None:
        for columns, index in self.key_index.items():
            entry = tuple(key_value(row.values.get(c)) for c in columns)
            if index.get(entry) == row.id:
                del index[entry]

    def put(self, row: Row, transaction: Transaction | None = None) -> None:
        """Insert or replace a row (already carrying its new version)."""
        previous = self.rows.get(row.id)
        if previous is not None:
            self._unindex(previous)
        else:
            bisect.insort(self._order, row.id)
        self.rows[row.id] = row
        self._index(row)
        if transaction is not None:
            if previous is None:
                transaction.record(lambda: self._remove(row.id))
            else:
                transaction.record(lambda: self.put(previous))

    def _remove(self, row_id: str) -> Row | None:
        row = self.rows.pop(row_id, None)
        if row is not None:
            self._unindex(row)
            position = bisect.bisect_left(self._order, row_id)
            if position < len(self._order) and self._order[position] == row_id:
                del self._order[position]
        return row

    def delete(self, row_id: str, version: int, transaction: Transaction | None = None) -> Row:
        row = self._remove(row_id)
        if row is None:
            raise KeyError(row_id)
        self.tombstones.append((version, row_id))
        if transaction is not None:
            tombstone = (version, row_id)

            def undo() -> None:
                self.tombstones.remove(tombstone)
                self.put(row)

            transaction.record(undo)
        return row

    def bulk_load(self, rows: list[Row]) -> None:
        """Add many new rows at once (seeding): one sort instead of an insert each."""
        for row in rows:
            self.rows[row.id] = row
            self._index(row)
        self._order.extend(row.id for row in rows)
        self._order.sort()


@dataclass
class Membership:
    """Static marketing-list members: list id -> member id -> listmember id, and back."""

    members: dict[str, dict[str, str]] = field(default_factory=dict)
    lists_of: dict[str, set[str]] = field(default_factory=dict)

    def add(self, list_id: str, member_id: str, listmember_id: str) -> None:
        self.members.setdefault(list_id, {})[member_id] = listmember_id
        self.lists_of.setdefault(member_id, set()).add(list_id)

    def remove(self, list_id: str, member_id: str) -> str | None:
        listmember_id = self.members.get(list_id, {}).pop(member_id, None)
        lists = self.lists_of.get(member_id)
        if lists is not None:
            lists.discard(list_id)
            if not lists:
                del self.lists_of[member_id]
        return listmember_id

    def member_ids(self, list_id: str) -> list[str]:
        return sorted(self.members.get(list_id, {}))

    def list_ids(self, member_id: str) -> list[str]:
        return sorted(self.lists_of.get(member_id, set()))

    def count(self, list_id: str) -> int:
        return len(self.members.get(list_id, {}))
