"""The `SyncDue` index: one row per schedule that needs the scheduler's attention at a time.

RowKey `<yyyymmddHHMMSS>_<account>_<sync type>` sorts by time, so one range query per
partition returns exactly what is due. Rows are spread over `SHARDS` partitions by a stable
hash of the account id: every run moves its row several times (queued, claimed, each lease
renewal, finished), and one partition serves about 2,000 operations a second, which 130,000
runs in minutes would exceed. A schedule's `Run_DueKey` column holds `<partition>/<RowKey>`; a
key without a partition is a row of the single `Due` partition written before sharding, which
is still read and removed as its schedules move on.

Changes made by one tick are written in transactions of up to 100 rows per partition.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.data.tables import TableClient, TableEntity

from shared.storage.entities import BATCH_LIMIT
from shared.storage.transactions import Operation, TransactionRefused, submit
from shared.sync_types import SyncType

log = logging.getLogger(__name__)

SHARDS = 8  # changing it orphans the rows of the old partitions: read them as LEGACY is read
LEGACY_PARTITION = "Due"
_PARTITIONS = (*(f"Due{n:02d}" for n in range(SHARDS)), LEGACY_PARTITION)
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")
_ROW_KEY = re.compile(r"(?P<at>\d{14})_(?P<account>[A-Za-z0-9][A-Za-z0-9-]{0,62})_(?P<type>\w+)")
_SYNC_TYPES = {t.value: t for t in SyncType}


def shard_of(account_id: str) -> str:
    return f"Due{zlib.crc32(account_id.encode()) % SHARDS:02d}"


def due_key(moment: datetime, account_id: str, sync_type: SyncType) -> str:
    return f"{shard_of(account_id)}/{moment:%Y%m%d%H%M%S}_{account_id}_{sync_type.value}"


def split_key(key: str) -> tuple[str, str]:
    partition, _, row_key = key.rpartition("/")
    return partition or LEGACY_PARTITION, row_key


@dataclass(frozen=True)
class DueEntry:
    """One index row. `problem` says what was wrong with a hand-edited row; then `account_id`
    and `sync_type` come from its RowKey when that names them, else they are empty/None."""

    key: str
    account_id: str
    sync_type: SyncType | None
    problem: str = ""

    @property
    def row_key(self) -> str:
        return split_key(self.key)[1]


def _entry(row: TableEntity) -> DueEntry:
    key = f"{row['PartitionKey']}/{row['RowKey']}"
    if row["PartitionKey"] == LEGACY_PARTITION:
        key = row["RowKey"]
    account_id, type_name = row.get("AccountId"), row.get("SyncType")
    problems = []
    if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id):
        problems.append("no AccountId" if account_id in (None, "") else f"AccountId {account_id!r}")
    if type_name not in _SYNC_TYPES:
        problems.append(f"SyncType {type_name!r} is not a sync type")
    if not problems and not row["RowKey"].endswith(f"_{account_id}_{type_name}"):
        problems.append(f"AccountId {account_id!r} and SyncType {type_name!r} do not match it")
    if not problems:
        return DueEntry(key, str(account_id), _SYNC_TYPES[str(type_name)])
    named = _ROW_KEY.fullmatch(row["RowKey"])
    if named is None or named["type"] not in _SYNC_TYPES:
        return DueEntry(key, "", None, "; ".join(problems))
    return DueEntry(key, named["account"], _SYNC_TYPES[named["type"]], "; ".join(problems))


class DueIndex:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def due(self, now: datetime) -> Iterator[DueEntry]:
        """Every row due at `now`, partition by partition (callers sort if they need to)."""
        upper = f"{now:%Y%m%d%H%M%S}_~"
        for partition in _PARTITIONS:
            rows = self._table.query_entities(
                "PartitionKey eq @pk and RowKey le @upper",
                parameters={"pk": partition, "upper": upper},
            )
            for row in rows:
                yield _entry(row)

    def put(self, key: str, account_id: str, sync_type: SyncType) -> None:
        self._table.upsert_entity(_row(key, account_id, sync_type))

    def drop(self, key: str) -> None:
        partition, row_key = split_key(key)
        self._table.delete_entity(partition, row_key)  # an absent row is no error

    def put_many(self, rows: Iterable[tuple[str, str, SyncType]]) -> None:
        operations = ((key, Operation("upsert", _row(key, a, t))) for key, a, t in rows)
        for chunk in _by_partition(operations):
            submit(self._table, chunk)

    def drop_many(self, keys: Iterable[str]) -> None:
        """Delete rows in transactions; a transaction that fails because a row is gone already
        (an overlapping tick or a worker moved it) is redone row by row."""
        operations = (
            (key, Operation("delete", {"PartitionKey": p, "RowKey": r}))
            for key, (p, r) in ((k, split_key(k)) for k in set(keys))
        )
        for chunk in _by_partition(operations):
            try:
                submit(self._table, chunk)
            except TransactionRefused:
                for operation in chunk:
                    entity = operation.entity
                    self._table.delete_entity(entity["PartitionKey"], entity["RowKey"])


def _row(key: str, account_id: str, sync_type: SyncType) -> dict[str, Any]:
    partition, row_key = split_key(key)
    return {
        "PartitionKey": partition,
        "RowKey": row_key,
        "AccountId": account_id,
        "SyncType": sync_type.value,
    }


def _by_partition(operations: Iterable[tuple[str, Operation]]) -> Iterator[list[Operation]]:
    groups: dict[str, list[Operation]] = defaultdict(list)
    for key, operation in operations:
        groups[split_key(key)[0]].append(operation)
    for group in groups.values():
        for start in range(0, len(group), BATCH_LIMIT):
            yield group[start : start + BATCH_LIMIT]
