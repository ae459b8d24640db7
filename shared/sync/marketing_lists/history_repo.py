"""Every contact, lead and account that has ever been in an email-activated marketing list of
an account: the records MarketingPreferences syncs (seed 003, "every record that has ever
existed in an email activated marketing list"). A member leaving a list stays here.

Table `MarketingListHistory`, PartitionKey = account id. The record ids are packed, 16 bytes
each, into binary properties of large entities (RowKey `<entity>_<random>`: up to 61,440 ids
an entity), so 100,000 records are two entities to read, not 100,000 rows. The list push
appends only ids it does not know yet (it reads the account's set first, a request or two), so
a run that pushes nothing new writes nothing; when an entity's ids are spread over more than
`COMPACT_AT` entities the next append merges them. A set, so order and duplicates do not matter:
a replayed push that appends the same ids twice, or a compaction killed between its write and
its deletes, only leaves duplicates the next read ignores.

Why its own table rather than the list snapshot: the snapshot forgets members (tombstones,
then compaction, and a relinked list starts over), holds them per list, and needs its data
section read to find anything; this is the history the preference sync needs, per account.
A list's members pushed before this table existed are added once (`has_list`/`mark_list`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import ClassVar

from azure.data.tables import TableClient, TableEntity

from shared.runtime import Runtime
from shared.storage.entities import delete_all
from shared.sync.marketing_lists.snapshot_chunks import member_bytes, member_text

PART_BYTES = 65_536
MAX_PARTS = 15  # under the 1 MiB entity limit
IDS_PER_ENTITY = PART_BYTES // 16 * MAX_PARTS
COMPACT_AT = 16  # entities of one record type before a read merges them
LIST_MARK = "list_"
ENTITIES = ("contact", "lead", "account")


def membership_history(services: Runtime) -> MembershipHistory:
    return services.repository(MembershipHistory)


class MembershipHistory:
    TABLE: ClassVar[str] = "MarketingListHistory"
    WRITES: ClassVar[tuple[str, ...]] = ("add", "mark_list")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def _rows(self, account_id: str, entity: str) -> list[TableEntity]:
        query = "PartitionKey eq @pk and RowKey gt @lo and RowKey lt @hi"
        params = {"pk": account_id, "lo": f"{entity}_", "hi": f"{entity}_~"}
        return list(self._table.query_entities(query, parameters=params))

    def ids(self, account_id: str, entity: str) -> set[str]:
        """The ids (lowercase GUID text) of every `entity` record ever listed."""
        return {member_text(raw) for raw in self.raw_ids(account_id, entity)}

    def raw_ids(self, account_id: str, entity: str) -> set[bytes]:
        return _unpack(self._rows(account_id, entity))

    def add(self, account_id: str, entity: str, record_ids: Iterable[str]) -> int:
        """Append the records not recorded yet (merging the entity's rows when they are
        many); returns how many were new."""
        wanted = {member_bytes(r) for r in record_ids}
        if not wanted:
            return 0
        rows = self._rows(account_id, entity)
        known = _unpack(rows)
        new = wanted - known
        if len(rows) >= COMPACT_AT and new:
            self._append(account_id, entity, sorted(known | new))
            keys = [TableEntity(PartitionKey=r["PartitionKey"], RowKey=r["RowKey"]) for r in rows]
            delete_all(self._table, keys)
        else:
            self._append(account_id, entity, sorted(new))
        return len(new)

    def _append(self, account_id: str, entity: str, ids: list[bytes]) -> None:
        for start in range(0, len(ids), IDS_PER_ENTITY):
            blob = b"".join(ids[start : start + IDS_PER_ENTITY])
            parts = [blob[i : i + PART_BYTES] for i in range(0, len(blob), PART_BYTES)]
            row = {
                "PartitionKey": account_id,
                "RowKey": f"{entity}_{uuid.uuid4().hex}",
                "Count": len(blob) // 16,
                "Parts": len(parts),
                **{f"Ids{n}": part for n, part in enumerate(parts)},
            }
            self._table.create_entity(row)

    def has_list(self, account_id: str, list_id: str) -> bool:
        """Whether the list's members pushed before the history existed were added."""
        rows = self._table.query_entities(
            "PartitionKey eq @pk and RowKey eq @rk",
            parameters={"pk": account_id, "rk": LIST_MARK + list_id.lower()},
            select=["RowKey"],
        )
        return any(True for _ in rows)

    def mark_list(self, account_id: str, list_id: str) -> None:
        self._table.upsert_entity(
            {"PartitionKey": account_id, "RowKey": LIST_MARK + list_id.lower()}
        )


def _unpack(rows: Iterable[TableEntity]) -> set[bytes]:
    found: set[bytes] = set()
    for row in rows:
        blob = b"".join(bytes(row[f"Ids{n}"]) for n in range(int(row["Parts"])))
        found.update(blob[i : i + 16] for i in range(0, len(blob), 16))
    return found
