"""Schedules per (account, sync type) and the due index the scheduler reads each minute.

`SyncSchedules` rows (PartitionKey = account id, RowKey = sync type) hold the settings and the
run state (`schedule_rows`). `SyncDue` (`due_index`) holds one row per schedule that needs
attention at some time, keyed so that a range query returns exactly the schedules that are
due: the timer's cost grows with the number of due schedules, not with the number of accounts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity

from shared import deadline
from shared.errors import BadInputError, ConcurrencyConflict
from shared.storage.due_index import DueEntry, DueIndex, due_key
from shared.storage.entities import read_partitions, replace_if_unchanged
from shared.storage.schedule_rows import (
    DUE_COLUMN,
    ScheduleRecord,
    ScheduleStatus,
    from_entity,
    to_entity,
)
from shared.storage.transactions import Operation, TransactionRefused, submit
from shared.sync_types import SyncType

__all__ = [
    "DueEntry",
    "InvalidSchedule",
    "SaveOutcome",
    "ScheduleRecord",
    "ScheduleRepository",
    "ScheduleStatus",
    "due_key",
]

log = logging.getLogger(__name__)
WRITERS = 8  # accounts' transactions in flight at once (Table Storage answers in milliseconds)
_SYNC_TYPES = {t.value for t in SyncType}


class InvalidSchedule(BadInputError):
    """A schedule row that a hand edit made unreadable; `schedule set` rewrites it."""


@dataclass
class SaveOutcome:
    """What `save_many` did: the records saved (their ETags updated), those that lost a race,
    and the index rows the caller drops once it has acted on the saved ones."""

    saved: list[ScheduleRecord] = field(default_factory=list)
    conflicts: list[ScheduleRecord] = field(default_factory=list)
    old_keys: list[str] = field(default_factory=list)


class ScheduleRepository:
    def __init__(self, schedules: TableClient, due: TableClient) -> None:
        self._schedules = schedules
        self._index = DueIndex(due)

    def get(
        self, account_id: str, sync_type: SyncType, *, allow_invalid: bool = False
    ) -> ScheduleRecord:
        """The stored schedule, or the default (Manual Sync Only) one if none was saved yet.

        A row a hand edit broke raises InvalidSchedule, unless `allow_invalid` (to rewrite it).
        """
        try:
            record = from_entity(self._schedules.get_entity(account_id, sync_type.value))
        except ResourceNotFoundError:
            return ScheduleRecord(account_id, sync_type)
        if record.problems and not allow_invalid:
            raise InvalidSchedule(record.invalid_reason)
        return record

    def for_account(
        self, account_id: str, sync_types: Iterable[SyncType] | None = None
    ) -> list[ScheduleRecord]:
        """The schedule of each of `sync_types` (default: every sync type), in that order;
        unreadable rows come back with their `problems`. Callers pass the account platform's
        types, so an Adobe account is not shown Dotdigital's schedules or the reverse."""
        rows = self._schedules.query_entities("PartitionKey eq @pk", parameters={"pk": account_id})
        stored = {r.sync_type: r for r in map(from_entity, _known(rows))}
        wanted = list(SyncType) if sync_types is None else list(sync_types)
        return [stored.get(st) or ScheduleRecord(account_id, st) for st in wanted]

    def due_rows(
        self, account_ids: Iterable[str], now: datetime, *, expected: int
    ) -> dict[str, dict[str, TableEntity]]:
        """The schedule rows of these accounts that are due at `now` (`expected` in all),
        unparsed. The server filters on Run_DueUtc, so the other rows are neither sent nor
        parsed (parsing a row with its dates costs about 0.2 ms). A row written before the
        `Run_` columns is not among them: the caller reads it by its key (`row`)."""
        keys = set(account_ids)
        found = read_partitions(
            self._schedules,
            keys,
            rows_per_key=max(1, expected // max(1, len(keys))),
            where=f"{DUE_COLUMN} le @now",
            parameters={"now": now},
        )
        return {pk: {row["RowKey"]: row for row in rows} for pk, rows in found.items()}

    def row(self, account_id: str, sync_type: SyncType) -> TableEntity | None:
        try:
            return self._schedules.get_entity(account_id, sync_type.value)
        except ResourceNotFoundError:
            return None

    def save(self, record: ScheduleRecord) -> ScheduleRecord:
        """ETag-conditional save; moves the schedule's due-index row when `due_at` changed.

        The new index row is written before the schedule and the old one removed after it, so
        a crash in between leaves a stale index row (skipped and removed by the scheduler),
        never a schedule that nobody will look at again.
        """
        old_key, new_key = record.due_key, self._next_key(record)
        if new_key and new_key != old_key:
            self._index.put(new_key, record.account_id, record.sync_type)
        record.due_key = new_key
        try:
            self._write_one(record)
        except ConcurrencyConflict:
            record.due_key = old_key
            if new_key and new_key != old_key:
                self._index.drop(new_key)
            raise
        if old_key and old_key != new_key:
            self._index.drop(old_key)
        return record

    def save_many(self, records: Sequence[ScheduleRecord]) -> SaveOutcome:
        """Save many schedules: new index rows in 100-row transactions first, then one
        ETag-checked transaction per account (row by row if it fails, to keep those that did
        not conflict). The old index rows are left for the caller to drop with `drop_due`.

        A record that lost a race keeps its old index key; the new row written for it is left
        behind on purpose: an overlapping save in the same second may have written the same
        key, and a stale row costs one look when it falls due (the scheduler removes it).
        """
        outcome = SaveOutcome()
        old_keys: dict[int, str] = {}
        fresh = []
        for record in records:
            old_keys[id(record)] = record.due_key
            new_key = self._next_key(record)
            if new_key and new_key != record.due_key:
                fresh.append((new_key, record.account_id, record.sync_type))
            record.due_key = new_key
        self._index.put_many(fresh)
        by_account: dict[str, list[ScheduleRecord]] = defaultdict(list)
        for record in records:
            by_account[record.account_id].append(record)
        groups = list(by_account.values())
        if len(groups) > 1:
            # One request per account: in flight together, the waits for the store overlap.
            written = [
                pair
                for pairs in deadline.in_parallel(self._write_group, groups, WRITERS)
                for pair in pairs
            ]
        else:
            written = [pair for group in groups for pair in self._write_group(group)]
        for record, saved in written:
            old_key = old_keys[id(record)]
            if saved:
                outcome.saved.append(record)
                if old_key and old_key != record.due_key:
                    outcome.old_keys.append(old_key)
            else:
                record.due_key = old_key
                outcome.conflicts.append(record)
        return outcome

    def due(self, now: datetime) -> list[DueEntry]:
        """Every due index row at `now`, oldest first."""
        return sorted(self._index.due(now), key=lambda entry: entry.row_key)

    def drop_due(self, *keys: str) -> None:
        if len(keys) == 1:
            self._index.drop(keys[0])
        elif keys:
            self._index.drop_many(keys)

    @staticmethod
    def _next_key(record: ScheduleRecord) -> str:
        if record.due_at is None:
            return ""
        return due_key(record.due_at, record.account_id, record.sync_type)

    def _write_one(self, record: ScheduleRecord) -> None:
        entity = to_entity(record)
        if record.etag is None:
            try:
                record.etag = str(self._schedules.create_entity(entity)["etag"])
            except ResourceExistsError as error:
                raise ConcurrencyConflict(
                    f"{record.account_id}/{record.sync_type} was created by someone else"
                ) from error
        else:
            record.etag = replace_if_unchanged(self._schedules, entity, record.etag)
        record.problems = ()

    def _write_group(self, group: list[ScheduleRecord]) -> list[tuple[ScheduleRecord, bool]]:
        """One account's records in one transaction: one request for any number of rows. If
        it is refused, the rows are written one by one, to keep those nobody else changed."""
        try:
            etags = submit(self._schedules, [_operation(record) for record in group])
        except TransactionRefused:
            pass  # someone changed, removed or created one of them: row by row below
        else:
            for record, etag in zip(group, etags, strict=True):
                record.etag = etag
                record.problems = ()
            return [(record, True) for record in group]
        if len(group) == 1:
            return [(group[0], self._ours(group[0]))]
        written = []
        for record in group:
            try:
                self._write_one(record)
                written.append((record, True))
            except ConcurrencyConflict:
                written.append((record, self._ours(record)))
        return written

    def _ours(self, record: ScheduleRecord) -> bool:
        """After a conflict: whether the stored row is the one we wrote all the same (a
        retried request whose first answer was lost). A queued run's id, step and queued
        time (to the microsecond, one tick's clock) say so; then the record takes its ETag."""
        if record.status is not ScheduleStatus.QUEUED or not record.run_id:
            return False
        row = self.row(record.account_id, record.sync_type)
        if row is None:
            return False
        stored = from_entity(row)
        mine = (stored.run_id, stored.run_sequence, stored.queued_at, stored.due_key) == (
            record.run_id, record.run_sequence, record.queued_at, record.due_key
        )  # fmt: skip
        if mine:
            record.etag = stored.etag
        return mine


def _operation(record: ScheduleRecord) -> Operation:
    if record.etag is None:
        return Operation("create", to_entity(record))
    return Operation("update", to_entity(record), etag=record.etag)


def _known(rows: Iterable[TableEntity]) -> Iterable[TableEntity]:
    for row in rows:
        if row["RowKey"] in _SYNC_TYPES:
            yield row
        else:
            log.warning(
                "Ignoring schedule row %s/%s: not a sync type", row["PartitionKey"], row["RowKey"]
            )
