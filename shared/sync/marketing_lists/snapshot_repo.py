"""What was last synced for each member of a linked list: the snapshot increments diff against,
packed thousands of members to a Table entity.

Table `ListSnapshots`, PartitionKey `<account>_<list id>`. Each entity is a chunk of member
records (`snapshot_chunks`: ids, values hashes, platform contact ids, then the compressed
emails and synced values); its RowKey is its sequence number counted down from 10^12, so a
query returns the newest chunk first. The store is a log: a write only appends chunks (the
members pushed or agreed, tombstones for the members removed), and a member's state is its
record in the newest chunk that holds one. A member's synced values are the mapped label
values as last agreed by both sides, so a two-way sync can tell which side changed a field
since. The table replaces `ListMembers` (a row per member): after an upgrade each list's next
push finds no snapshot and sends every member once more (imports are upserts by email, so
nothing doubles), and the old table can be deleted.

Why packed, and why Table entities rather than Blob chunks: one entity per member cost a
Table write per member pushed and a read per member per run, and azure-data-tables builds
each 100-row transaction as MIME multipart with Python's `email` package (about 0.5 ms of CPU
per row); a chunk of 4096 members is one request and some 30 ms of encoding. Blob
storage would do the same job with larger objects, but needs a second SDK, a second endpoint
and role assignment, and a container, for no gain at these sizes: 100,000 members are about
25 to 30 entities. Why a log: a 1% increment touches members spread over every chunk, so rewriting
the chunks that changed would rewrite the whole list each run; appending writes only what
changed. `rewrite` compacts the log when superseded records pile up (the push index decides).

Crash safety: a chunk is appended only after its members' import Finished (the callers' rule);
a chunk is a single entity, written whole or not at all, so a worker killed before or during
the write leaves those members unrecorded and the next run sends them again (imports are
upserts by email). Appends insert a new RowKey, never overwrite: two writers (DataIn and
DataOut of one account) that pick the same sequence number conflict, and the loser takes the
next one. Compaction writes the surviving records as newer chunks, then deletes the old ones
oldest first, so a compaction killed midway leaves a log that still reads the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableEntity
from pydantic import BaseModel

from shared.errors import ConcurrencyConflict
from shared.runtime import Runtime
from shared.storage.entities import delete_all
from shared.sync.marketing_lists import snapshot_chunks as chunks
from shared.sync.marketing_lists.snapshot_chunks import IndexRecord, KeyRecord, Record

MAX_SEQUENCE = 10**12 - 1
# Chunks per query page: one page is held (and parsed) at a time, so few keep memory flat.
KEY_PAGE = 2  # when only the key sections are read (~170 KB a chunk)
FULL_PAGE = 1  # when their data is read too (up to 1 MiB a chunk)


class MemberSnapshot(BaseModel):
    member_id: str
    email: str
    values_hash: str
    synced_values: dict[str, Any] = {}
    contact_id: int | None = None  # the platform's contact id, once known
    synced_utc: datetime | None = None


def _partition(account_id: str, list_id: str) -> str:
    return f"{account_id}_{list_id}"


def _row_key(sequence: int) -> str:
    return f"{MAX_SEQUENCE - sequence:012d}"


def _sequence(row_key: str) -> int:
    return MAX_SEQUENCE - int(row_key)


def _record(member: MemberSnapshot) -> Record:
    return Record(
        chunks.member_bytes(member.member_id),
        chunks.hash_bytes(member.values_hash),
        member.contact_id,
        email=member.email,
        values=member.synced_values,
        synced_utc=member.synced_utc,
    )


def _snapshot(record: Record) -> MemberSnapshot:
    return MemberSnapshot(
        member_id=chunks.member_text(record.member_id),
        email=record.email,
        values_hash=chunks.hash_text(record.values_hash),
        synced_values=dict(record.values or {}),
        contact_id=record.contact_id,
        synced_utc=record.synced_utc,
    )


class StoreConflict(ConcurrencyConflict):
    """Another writer appended to the list's log while it was being compacted."""


def list_members(services: Runtime) -> ListMemberRepository:
    """The runtime's snapshot repository (one instance: a test's wrapper sees every call)."""
    return services.repository(ListMemberRepository)


class ListMemberRepository:
    TABLE: ClassVar[str] = "ListSnapshots"
    WRITES: ClassVar[tuple[str, ...]] = ("upsert_many", "delete_many", "delete_list", "rewrite")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    # Reading --------------------------------------------------------------------------------

    def _chunks(self, partition: str, *, data: bool) -> Iterator[TableEntity]:
        """The list's chunks, newest first; only their key sections unless `data`."""
        return iter(
            self._table.query_entities(
                "PartitionKey eq @pk",
                parameters={"pk": partition},
                select=None if data else chunks.KEY_COLUMNS,
                results_per_page=FULL_PAGE if data else KEY_PAGE,
            )
        )

    def iter_key_chunks(
        self, account_id: str, list_id: str
    ) -> Iterator[tuple[int, Iterator[IndexRecord]]]:
        """Each chunk's sequence number and key records as the push index reads them (member
        id, values hash cut in two, contact id, flag), newest chunk first: what change
        detection needs, without emails and values. Each chunk's records are to be read
        before the next chunk is asked for."""
        for entity in self._chunks(_partition(account_id, list_id), data=False):
            yield _sequence(str(entity["RowKey"])), chunks.index_keys(entity)

    def iter_members(self, account_id: str, list_id: str) -> Iterator[MemberSnapshot]:
        """Every member the snapshot holds, with its latest record."""
        done: set[bytes] = set()
        for entity in self._chunks(_partition(account_id, list_id), data=True):
            for record in chunks.records(entity):
                if record.member_id not in done:
                    done.add(record.member_id)
                    if not record.removed:
                        yield _snapshot(record)

    def load(self, account_id: str, list_id: str) -> dict[str, MemberSnapshot]:
        return {m.member_id: m for m in self.iter_members(account_id, list_id)}

    def lookup(
        self, account_id: str, list_id: str, member_ids: Iterable[str], *, data: bool = False
    ) -> dict[str, MemberSnapshot]:
        """The latest records of these members (the ones the snapshot holds); only ids, hashes
        and contact ids unless `data` (then emails and values too). Reads the chunks newest
        first and stops once every member was found."""
        pending = {chunks.member_bytes(m): m for m in member_ids}
        found: dict[str, MemberSnapshot] = {}
        if not pending:
            return found
        for entity in self._chunks(_partition(account_id, list_id), data=data):
            stored = chunks.records(entity) if data else map(_key_record, chunks.keys(entity))
            for record in stored:
                member_id = pending.pop(record.member_id, None)
                if member_id is not None and not record.removed:
                    found[member_id] = _snapshot(record)
            if not pending:
                break
        return found

    # Writing --------------------------------------------------------------------------------

    def upsert_many(
        self,
        account_id: str,
        list_id: str,
        members: Iterable[MemberSnapshot | Record],
        *,
        removed: Iterable[str] = (),
    ) -> int:
        """Append the members' records (and tombstones for `removed`) as new chunks; returns
        how many records were written. A push passes `Record`s: values it computed itself
        need no validation, and 100,000 models would cost seconds."""
        partition = _partition(account_id, list_id)
        records = itertools.chain(
            (m if isinstance(m, Record) else _record(m) for m in members),
            (Record(chunks.member_bytes(m), removed=True) for m in removed),
        )
        written = 0
        sequence: int | None = None
        while batch := list(itertools.islice(records, chunks.CHUNK_MEMBERS)):
            for chunk in chunks.encode(batch):
                sequence = self._append(partition, chunk, sequence)
                written += chunk["Members"]
        return written

    def delete_many(self, account_id: str, list_id: str, member_ids: Iterable[str]) -> int:
        return self.upsert_many(account_id, list_id, (), removed=member_ids)

    def delete_list(self, account_id: str, list_id: str) -> int:
        """Forget the list's snapshot (all its chunks); returns how many chunks there were."""
        return delete_all(self._table, list(self._row_keys(_partition(account_id, list_id))))

    def _row_keys(self, partition: str) -> Iterator[TableEntity]:
        query = "PartitionKey eq @pk"
        keys = ["PartitionKey", "RowKey"]
        return iter(self._table.query_entities(query, parameters={"pk": partition}, select=keys))

    def _newest(self, partition: str) -> int:
        """The newest chunk's sequence number, -1 when there is none."""
        newest = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": partition}, select=["RowKey"],
            results_per_page=1,
        )  # fmt: skip
        for entity in newest:
            return _sequence(str(entity["RowKey"]))
        return -1

    def _append(self, partition: str, chunk: dict[str, Any], after: int | None) -> int:
        """Insert the chunk after `after` (the newest chunk when None), or after whatever
        another writer appended meanwhile; returns its sequence number."""
        sequence = (self._newest(partition) if after is None else after) + 1
        while True:
            try:
                self._insert(partition, sequence, chunk)
                return sequence
            except ResourceExistsError:
                sequence = self._newest(partition) + 1

    def _insert(self, partition: str, sequence: int, chunk: dict[str, Any]) -> None:
        entity = {"PartitionKey": partition, "RowKey": _row_key(sequence), **chunk}
        self._table.create_entity(entity)

    # Compaction -----------------------------------------------------------------------------

    def rewrite(
        self, account_id: str, list_id: str, keep: Callable[[bytes], bool], *, newest: int
    ) -> int:
        """Compact the log read up to chunk `newest`: the records `keep` accepts (asked once
        per record, newest first, with the member's 16-byte id) become new chunks, then the
        chunks read are deleted, oldest first. Returns the records kept.

        Raises `StoreConflict` if another writer appended since chunk `newest` or appends
        meanwhile (it then takes a sequence number this rewrite wanted): the old chunks stay,
        and the chunks already written are a valid copy, older than that writer's."""
        partition = _partition(account_id, list_id)
        sequence = newest
        read: list[TableEntity] = []
        kept: list[Record] = []
        written = 0

        def flush(least: int) -> None:
            nonlocal sequence, written
            while kept and len(kept) >= least:
                for chunk in chunks.encode(kept[: chunks.CHUNK_MEMBERS]):
                    sequence += 1
                    try:
                        self._insert(partition, sequence, chunk)
                    except ResourceExistsError as error:
                        raise StoreConflict(partition) from error
                    written += chunk["Members"]
                del kept[: chunks.CHUNK_MEMBERS]

        if self._newest(partition) != newest:
            raise StoreConflict(partition)
        # New chunks sort before the ones still to read, so the query never returns them.
        for entity in self._chunks(partition, data=True):
            read.append(TableEntity(PartitionKey=partition, RowKey=entity["RowKey"]))
            # `keep` sees tombstones too: a member's first record decides, whatever it is.
            kept.extend(r for r in chunks.records(entity) if keep(r.member_id) and not r.removed)
            flush(chunks.CHUNK_MEMBERS)
        flush(1)
        if self._newest(partition) != sequence:  # a chunk appended (and maybe read) meanwhile
            raise StoreConflict(partition)
        delete_all(self._table, reversed(read))
        return written


def _key_record(key: KeyRecord) -> Record:
    member_id, values_hash, contact, flag = key
    return Record(
        member_id,
        values_hash,
        None if contact == chunks.NO_CONTACT else contact,
        removed=flag == chunks.REMOVED,
    )
