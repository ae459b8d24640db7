"""The stored snapshot of one list, held in 12 bytes a member while its members are compared.

Change detection needs, for every member synced before, whether its values hash is still the
stored one, and must find the members no longer in the list. A member here is a 64-bit
fingerprint of its id and the first 40 bits of its stored values hash, packed into one 64-bit
word (56 bits of fingerprint, the fingerprint's top 8 bits choosing one of 256 buckets) and
one 32-bit word, in sorted `array`s searched by bisection; plus two bits, seen this run and
claimed by a scan. 100,000 members take 1.3 MB (a dict of Python ints took 14 MB), so a
run's peak memory hardly grows with the list. Nothing else is held: who left, and the old
contact ids of members that changed, are found by one more read of the stored keys
(`resolve`).

Fingerprints are `hash()` of the id's 16 bytes (SipHash, salted per process). Two members of
one list share one with probability about n^2 / 2^65 (3e-8 at a million members); they then
count as one member in that process: one of them may be sent again, or, if one leaves the
list while the other stays, stay in the address book until a process with another salt runs
the list. A changed member whose new hash begins with the stored 40 bits (2^-40 per change)
is taken as unchanged.

Loading also compacts the stored log when it holds more than twice the records it needs
(superseded records, tombstones) or many more chunks than the members fill.
"""

from __future__ import annotations

import logging
import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.runtime import Runtime
from shared.sync.marketing_lists.snapshot_chunks import (
    CHUNK_MEMBERS,
    NO_CONTACT,
    REMOVED,
    IndexRecord,
    member_bytes,
    member_text,
)
from shared.sync.marketing_lists.snapshot_repo import StoreConflict, list_members

log = logging.getLogger(__name__)

BUCKETS = 256
_MASK64 = (1 << 64) - 1
_MASK56 = (1 << 56) - 1


def _fingerprint(member_id: bytes) -> int:
    return hash(member_id) & _MASK64


def values_fingerprint(values_hash: str) -> int:
    """The 40 bits of a values hash (hex) the index compares; -1 when it is not a hash."""
    try:
        return int(values_hash[:10], 16) if len(values_hash) >= 10 else -1
    except ValueError:
        return -1


def _bit(bits: bytearray, n: int) -> bool:
    return bool(bits[n >> 3] & (1 << (n & 7)))


def _set(bits: bytearray, n: int) -> None:
    bits[n >> 3] |= 1 << (n & 7)


class _Bucket:
    """Members whose fingerprint has one top byte: sorted high words (56 fingerprint bits, 8
    hash bits) and low words (32 hash bits), with the seen and claimed bits."""

    __slots__ = ("claimed", "high", "low", "seen")

    def __init__(self, high: array[int], low: array[int]) -> None:
        self.high, self.low = high, low
        self.seen = bytearray((len(high) + 7) // 8)
        self.claimed = bytearray()  # sized when a scan first claims: only scans use it

    def find(self, fingerprint: int) -> int:
        """The member's position, -1 if the bucket does not hold it."""
        key = (fingerprint & _MASK56) << 8
        n = bisect_left(self.high, key)
        return n if n < len(self.high) and self.high[n] >> 8 == key >> 8 else -1


class SnapshotIndex:
    def __init__(self, keys: Iterable[IndexRecord] = ()) -> None:
        """The index of the stored members, from key records newest first (as the store
        reads them): a member's first record is its latest, a tombstone means it was removed."""
        high = [array("Q") for _ in range(BUCKETS)]
        low = [array("I") for _ in range(BUCKETS)]
        gone = [bytearray() for _ in range(BUCKETS)]
        records = 0
        for member_id, first, rest, _contact, flag in keys:
            fingerprint = hash(member_id) & _MASK64  # `_fingerprint`, inlined: 100,000s of calls
            bucket = fingerprint >> 56
            high[bucket].append(((fingerprint & _MASK56) << 8) | first)
            low[bucket].append(rest)
            gone[bucket].append(flag)
            records += 1
        self.records = records  # stored records read, superseded and tombstones included
        self._buckets = [_latest(h, w, g) for h, w, g in zip(high, low, gone, strict=True)]
        self._size = sum(len(b.high) for b in self._buckets)

    @classmethod
    def load(cls, services: Runtime, account_id: str, list_id: str) -> SnapshotIndex:
        """The list's index, read from the snapshot store (compacted first when due)."""
        store = list_members(services)
        sequences: list[int] = []

        def keys() -> Iterable[IndexRecord]:
            for sequence, records in store.iter_key_chunks(account_id, list_id):
                sequences.append(sequence)
                yield from records

        index = cls(keys())
        if sequences and index.compaction_due(len(sequences)):
            index.reset_claims()
            try:
                store.rewrite(account_id, list_id, index.claim, newest=sequences[0])
            except StoreConflict:
                log.info("Snapshot of list %s not compacted: another run wrote to it", list_id)
        return index

    def compaction_due(self, chunks: int) -> bool:
        needed = math.ceil(self._size / CHUNK_MEMBERS)
        return self.records > 2 * self._size + CHUNK_MEMBERS or chunks > 2 * needed + 16

    def __len__(self) -> int:
        return self._size

    def _locate(self, member_id: bytes) -> tuple[_Bucket, int]:
        fingerprint = _fingerprint(member_id)
        bucket = self._buckets[fingerprint >> 56]
        return bucket, bucket.find(fingerprint)

    def see(self, member_id: bytes) -> int | None:
        """The member's stored values fingerprint (None if it was not stored); marks it seen."""
        bucket, n = self._locate(member_id)
        if n < 0:
            return None
        _set(bucket.seen, n)
        return ((bucket.high[n] & 0xFF) << 32) | bucket.low[n]

    def claim(self, member_id: bytes) -> bool:
        """True the first time a stored member is asked for (since `reset_claims`): reading
        the log newest first, its latest record."""
        bucket, n = self._locate(member_id)
        if n < 0:
            return False
        if not bucket.claimed:
            bucket.claimed = bytearray(len(bucket.seen))
        if _bit(bucket.claimed, n):
            return False
        _set(bucket.claimed, n)
        return True

    def reset_claims(self) -> None:
        for bucket in self._buckets:
            bucket.claimed = bytearray(len(bucket.seen))

    def resolve(
        self,
        key_chunks: Iterable[tuple[int, Iterable[IndexRecord]]],
        wanted: Iterable[str] = (),
        *,
        leavers: bool = False,
    ) -> Stored:
        """One read of the store's key records (newest first): the contact ids of the
        `wanted` members, and with `leavers` the stored members not seen this run. Read after
        this run's own writes, which only add what was seen or remove what left."""
        pending = {member_bytes(m): m for m in wanted}
        stored = Stored()
        if not pending and not leavers:
            return stored
        self.reset_claims()
        buckets = self._buckets
        for _sequence, records in key_chunks:
            for member_id, _first, _rest, contact, flag in records:
                if pending:
                    name = pending.pop(member_id, None)
                    if name is not None and flag != REMOVED:
                        stored.contacts[name] = None if contact == NO_CONTACT else contact
                if not leavers:
                    continue
                fingerprint = hash(member_id) & _MASK64
                bucket = buckets[fingerprint >> 56]
                n = bucket.find(fingerprint)
                # Most members were seen: one lookup each. The others: their first record is
                # their latest (a tombstone when this run removed them already).
                if n < 0 or _bit(bucket.seen, n) or _bit(bucket.claimed, n):
                    continue
                _set(bucket.claimed, n)
                if flag != REMOVED:
                    contact_id = None if contact == NO_CONTACT else contact
                    stored.leavers.append((member_text(member_id), contact_id))
            if not pending and not leavers:
                break
        return stored


@dataclass
class Stored:
    """What `SnapshotIndex.resolve` found in the store."""

    contacts: dict[str, int | None] = field(default_factory=dict)
    leavers: list[tuple[str, int | None]] = field(default_factory=list)


def _latest(high: array[int], low: array[int], gone: bytearray) -> _Bucket:
    """One bucket, sorted, with each member's first (latest) record, tombstoned ones left out."""
    order = sorted(range(len(high)), key=lambda n: high[n] >> 8)  # stable: newest first
    kept: list[int] = []
    previous = -1
    for n in order:
        member = high[n] >> 8
        if member != previous and not gone[n]:
            kept.append(n)
        previous = member
    # Built from lists, the arrays take exactly what they hold (appending over-allocates).
    return _Bucket(array("Q", [high[n] for n in kept]), array("I", [low[n] for n in kept]))
