"""The stored snapshot of one list, held compactly while its members are compared.

Change detection needs, for every member synced before, its values hash and Dotdigital
contact id, and must find the ones no longer in the list. Holding `MemberSnapshot` models
would cost about a kilobyte per member; here each member is two Python ints (the member GUID,
and the 128-bit hash packed with the contact id), 140 to 180 bytes with the dict's own slots,
so a 100,000-member list needs about 15 MB. Emails are not kept: the rare removal whose contact
id is unknown reads them back from the snapshot table.

Loading reads only the three columns it needs from the snapshot table (`ListMembers`, laid out
as `snapshot_repo` documents: PartitionKey `<account>_<list id>`, RowKey the
member id): the synced values are not parsed, which halves the time a large list takes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from shared.runtime import Runtime

_COLUMNS = ["RowKey", "ValuesHash", "DotdigitalContactId"]
_CONTACT_BITS = 40
_CONTACT_MASK = (1 << _CONTACT_BITS) - 1


@dataclass(frozen=True)
class Entry:
    values_hash: int  # 0 when the stored hash was not a hash
    contact_id: int | None


def hash_value(values_hash: str) -> int:
    try:
        return int(values_hash, 16) if values_hash else 0
    except ValueError:
        return 0


def _key(member_id: str) -> int:
    return uuid.UUID(member_id).int


def _pack(values_hash: str, contact_id: int | None) -> int:
    contact = 0 if contact_id is None or not 0 <= contact_id < _CONTACT_MASK else contact_id + 1
    return (hash_value(values_hash) << _CONTACT_BITS) | contact


def _unpack(packed: int) -> Entry:
    contact = packed & _CONTACT_MASK
    return Entry(packed >> _CONTACT_BITS, contact - 1 if contact else None)


class SnapshotIndex:
    def __init__(self) -> None:
        self._entries: dict[int, int] = {}

    @classmethod
    def load(cls, services: Runtime, account_id: str, list_id: str) -> SnapshotIndex:
        index = cls()
        rows = services.tables.client("ListMembers").query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": f"{account_id}_{list_id}"},
            select=_COLUMNS,
            results_per_page=1000,
        )
        for row in rows:
            contact_id = row.get("DotdigitalContactId")
            index.add(
                str(row["RowKey"]),
                str(row.get("ValuesHash") or ""),
                contact_id if isinstance(contact_id, int) and contact_id >= 0 else None,
            )
        return index

    def add(self, member_id: str, values_hash: str, contact_id: int | None) -> None:
        self._entries[_key(member_id)] = _pack(values_hash, contact_id)

    def pop(self, member_id: str) -> Entry | None:
        packed = self._entries.pop(_key(member_id), None)
        return None if packed is None else _unpack(packed)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[str, Entry]]:
        for key, packed in self._entries.items():
            yield str(uuid.UUID(int=key)), _unpack(packed)
