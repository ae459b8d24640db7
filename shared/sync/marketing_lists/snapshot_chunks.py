"""How member records are packed into one Table entity (a chunk of a list snapshot) and read back.

A chunk holds up to `CHUNK_MEMBERS` records in two sections, each cut into binary properties of
at most 64 KiB (Table Storage's limit for one property; an entity holds at most 1 MiB):

- `Keys0`, `Keys1`, ...: fixed-width records of `KEY.size` (41) bytes, in the chunk's order:
  member id (the GUID's 16 bytes), values hash (16 bytes; zeros when there is none),
  platform contact id (signed 64-bit; -1 while not known), and a flag (1: the member was
  removed, a tombstone). This is all a push's change detection reads (`$select` of these
  properties): about 4 MB for 100,000 members.
- `Data0`, `Data1`, ...: one zlib-compressed JSON array, one item per record: `[email, synced
  values, synced UTC or null]`, `null` for a tombstone. Read only by whoever needs whole
  members (MarketingListsDataIn's merge base, removals by email).

Scalar properties: `Format` (layout version), `Members` (records), `Removed` (tombstones of
them), `KeyParts` and `DataParts` (how many binary properties each section has).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FORMAT = 1
CHUNK_MEMBERS = 4096  # records per chunk at most; fewer when their data is large
PART_BYTES = 65_536  # Table Storage's limit for one binary property
MAX_PARTS = 15  # both sections together: 15 x 64 KiB stays under the 1 MiB entity limit
KEY = struct.Struct(">16s16sqB")
# The same 41 bytes as the push index reads them: id, the hash's first byte and next 4 bytes.
INDEX_KEY = struct.Struct(">16sBI11xqB")
NO_HASH = bytes(16)
NO_CONTACT = -1
REMOVED = 1
COMPRESSION = 1  # zlib's fastest: a tenth larger than the default level, in half the time
KEY_COLUMNS = ["RowKey", "Members", "Removed", "KeyParts", *(f"Keys{n}" for n in range(MAX_PARTS))]

KeyRecord = tuple[bytes, bytes, int, int]  # member id, values hash, contact id, flag
IndexRecord = tuple[bytes, int, int, int, int]  # member id, hash byte 0, bytes 1-4, contact, flag


@dataclass(frozen=True)
class Record:
    """One member as a chunk stores it; `removed` records carry the member id alone."""

    member_id: bytes
    values_hash: bytes = NO_HASH
    contact_id: int | None = None
    removed: bool = False
    email: str = ""
    values: Mapping[str, Any] | None = None
    synced_utc: datetime | None = None

    def key(self) -> bytes:
        contact = NO_CONTACT if self.contact_id is None else self.contact_id
        return KEY.pack(self.member_id, self.values_hash, contact, REMOVED if self.removed else 0)

    def data(self) -> list[Any] | None:
        if self.removed:
            return None
        utc = self.synced_utc.isoformat() if self.synced_utc is not None else None
        return [self.email, self.values or {}, utc]


def member_bytes(member_id: str) -> bytes:
    """A Dataverse id (GUID text, any case, with or without dashes) as its 16 bytes."""
    raw = bytes.fromhex(member_id.replace("-", ""))
    if len(raw) != 16:
        raise ValueError(f"not a GUID: {member_id!r}")
    return raw


def member_text(raw: bytes) -> str:
    """The GUID text Dataverse uses (lowercase, dashed) for 16 stored bytes."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def hash_bytes(values_hash: str) -> bytes:
    """A values hash (32 hex digits) as 16 bytes; anything else is stored as no hash."""
    try:
        raw = bytes.fromhex(values_hash)
    except ValueError:
        return NO_HASH
    return raw if len(raw) == 16 else NO_HASH


def hash_text(raw: bytes) -> str:
    return "" if raw == NO_HASH else raw.hex()


def _parts(prefix: str, blob: bytes) -> dict[str, bytes]:
    return {
        f"{prefix}{n}": blob[start : start + PART_BYTES]
        for n, start in enumerate(range(0, len(blob), PART_BYTES))
    }


def encode(records: Sequence[Record]) -> list[dict[str, Any]]:
    """The chunks (entity properties, without keys) holding `records`, in their order: one
    chunk per `CHUNK_MEMBERS` records, halved until each fits in one entity."""
    chunks: list[dict[str, Any]] = []
    for start in range(0, len(records), CHUNK_MEMBERS):
        chunks.extend(_fit(records[start : start + CHUNK_MEMBERS]))
    return chunks


def _fit(records: Sequence[Record]) -> list[dict[str, Any]]:
    keys = b"".join(record.key() for record in records)
    text = json.dumps([r.data() for r in records], separators=(",", ":"), default=str)
    data = zlib.compress(text.encode(), COMPRESSION)
    parts = -(-len(keys) // PART_BYTES) + -(-len(data) // PART_BYTES)
    if parts > MAX_PARTS:
        if len(records) == 1:
            raise ValueError("one member's synced values exceed what a Table entity holds")
        half = len(records) // 2
        return [*_fit(records[:half]), *_fit(records[half:])]
    key_parts, data_parts = _parts("Keys", keys), _parts("Data", data)
    return [
        {
            "Format": FORMAT,
            "Members": len(records),
            "Removed": sum(r.removed for r in records),
            "KeyParts": len(key_parts),
            "DataParts": len(data_parts),
            **key_parts,
            **data_parts,
        }
    ]


def _section(entity: Mapping[str, Any], prefix: str, count: int) -> bytes:
    return b"".join(bytes(entity[f"{prefix}{n}"]) for n in range(count))


def _keys(entity: Mapping[str, Any]) -> bytes:
    blob = _section(entity, "Keys", int(entity["KeyParts"]))
    if len(blob) != KEY.size * int(entity["Members"]):
        raise ValueError(f"snapshot chunk {entity.get('RowKey')} is truncated")
    return blob


def keys(entity: Mapping[str, Any]) -> Iterator[KeyRecord]:
    """The chunk's key records (member id, values hash, contact id, flag), in its order."""
    return KEY.iter_unpack(_keys(entity))


def index_keys(entity: Mapping[str, Any]) -> Iterator[IndexRecord]:
    """The chunk's key records with the values hash cut as the push index keeps it."""
    return INDEX_KEY.iter_unpack(_keys(entity))


def records(entity: Mapping[str, Any]) -> Iterator[Record]:
    """The chunk's records with their data, in its order."""
    data = json.loads(zlib.decompress(_section(entity, "Data", int(entity["DataParts"]))))
    for (member_id, values_hash, contact, flag), item in zip(keys(entity), data, strict=True):
        if flag == REMOVED or item is None:
            yield Record(member_id, values_hash, None, removed=True)
            continue
        email, values, utc = item
        yield Record(
            member_id,
            values_hash,
            None if contact == NO_CONTACT else contact,
            email=email,
            values=values,
            synced_utc=datetime.fromisoformat(utc) if utc else None,
        )
