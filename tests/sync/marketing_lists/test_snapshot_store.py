"""The packed list snapshot against Azurite: members round-trip through chunks, the newest
record of a member wins, removals stay removed, compaction keeps what the log says, and the
push index finds changed members, leavers and old contact ids."""

from __future__ import annotations

import random
import tracemalloc
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.runtime import Runtime
from shared.sync.marketing_lists import snapshot_chunks
from shared.sync.marketing_lists.push_index import SnapshotIndex, values_fingerprint
from shared.sync.marketing_lists.snapshot_chunks import member_bytes
from shared.sync.marketing_lists.snapshot_repo import (
    ListMemberRepository,
    MemberSnapshot,
    StoreConflict,
    list_members,
)
from shared.sync.marketing_lists.values import values_hash

ACCOUNT, LIST = "acme", "9f1c5b1e-0000-4000-8000-000000000001"
WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def member(
    n: int, *, email: str | None = None, title: str = "Engineer", **extra: Any
) -> MemberSnapshot:
    address = email or f"person{n}@example.com"
    values = {"FIRSTNAME": f"Ada {n}", "JOBROLE": title, "SCORE": n * 1.5, "OPTIN": n % 2 == 0}
    return MemberSnapshot(
        member_id=str(uuid.UUID(int=n + 1)),
        email=address,
        values_hash=values_hash(address, values),
        synced_values=values,
        contact_id=1000 + n,
        synced_utc=WHEN,
        **extra,
    )


@pytest.fixture
def repo(runtime: Runtime) -> ListMemberRepository:
    return list_members(runtime)


def chunk_count(repo: ListMemberRepository) -> int:
    return sum(1 for _ in repo.iter_key_chunks(ACCOUNT, LIST))


def index_of(runtime: Runtime) -> SnapshotIndex:
    return SnapshotIndex.load(runtime, ACCOUNT, LIST)


# Packing -------------------------------------------------------------------------------------


def test_members_round_trip_with_every_kind_of_value(repo: ListMemberRepository) -> None:
    members = [
        member(1),
        member(2, email="zoë.ünïcode@example.com", title="Ingénieure — R&D"),
        MemberSnapshot(member_id=str(uuid.UUID(int=99)), email="bare@example.com", values_hash=""),
        member(3).model_copy(update={"contact_id": None, "synced_utc": None}),
        member(4).model_copy(update={"synced_values": {"EMPTY": None, "LIST": [1, "a"]}}),
    ]

    assert repo.upsert_many(ACCOUNT, LIST, members) == len(members)

    assert repo.load(ACCOUNT, LIST) == {m.member_id: m for m in members}
    assert repo.load(ACCOUNT, "another-list") == {}


def test_a_list_larger_than_a_chunk_spans_several_and_reads_back_once_each(
    repo: ListMemberRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_chunks, "CHUNK_MEMBERS", 3)
    members = [member(n) for n in range(7)]

    repo.upsert_many(ACCOUNT, LIST, members)

    assert chunk_count(repo) == 3  # 3 + 3 + 1
    stored = list(repo.iter_members(ACCOUNT, LIST))
    assert sorted(m.member_id for m in stored) == sorted(m.member_id for m in members)
    assert repo.load(ACCOUNT, LIST) == {m.member_id: m for m in members}


def test_members_whose_values_fill_an_entity_are_split_over_smaller_chunks(
    repo: ListMemberRepository,
) -> None:
    noise = random.Random(7)
    members = [  # 10 KB of entropy each (as hex text): 150 of them need several entities
        member(n).model_copy(update={"synced_values": {"NOTES": noise.randbytes(10_000).hex()}})
        for n in range(150)
    ]

    repo.upsert_many(ACCOUNT, LIST, members)

    sizes = [
        sum(len(v) for v in entity.values() if isinstance(v, bytes))
        for entity in repo._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": f"{ACCOUNT}_{LIST}"}
        )
    ]
    assert len(sizes) > 1 and max(sizes) < 1_000_000  # under Table Storage's 1 MiB
    assert repo.load(ACCOUNT, LIST) == {m.member_id: m for m in members}


def test_one_member_larger_than_an_entity_is_refused_before_anything_is_written() -> None:
    huge = member(1).model_copy(
        update={"synced_values": {"X": random.Random(1).randbytes(1_100_000).hex()}}
    )
    record = snapshot_chunks.Record(member_bytes(huge.member_id), values=huge.synced_values)

    with pytest.raises(ValueError, match="exceed"):
        snapshot_chunks.encode([record])


# The log: newest record wins, removals ------------------------------------------------------


def test_the_newest_record_of_a_member_wins(repo: ListMemberRepository) -> None:
    repo.upsert_many(ACCOUNT, LIST, [member(1), member(2)])
    retitled = member(1, title="Director")
    repo.upsert_many(ACCOUNT, LIST, [retitled])

    assert repo.load(ACCOUNT, LIST) == {
        retitled.member_id: retitled,
        member(2).member_id: member(2),
    }


def test_removed_members_stay_removed_until_written_again(repo: ListMemberRepository) -> None:
    repo.upsert_many(ACCOUNT, LIST, [member(n) for n in range(4)])

    repo.delete_many(ACCOUNT, LIST, [member(1).member_id, member(3).member_id])
    assert sorted(repo.load(ACCOUNT, LIST)) == sorted([member(0).member_id, member(2).member_id])

    repo.upsert_many(ACCOUNT, LIST, [member(2)], removed=[member(0).member_id])
    repo.upsert_many(ACCOUNT, LIST, [member(3, title="Back")])
    assert repo.load(ACCOUNT, LIST) == {
        member(2).member_id: member(2),
        member(3).member_id: member(3, title="Back"),
    }
    assert len(index_of(repo_runtime(repo))) == 2


def test_delete_list_forgets_every_chunk(repo: ListMemberRepository) -> None:
    repo.upsert_many(ACCOUNT, LIST, [member(n) for n in range(5)])
    repo.upsert_many(ACCOUNT, LIST, [member(1, title="Changed")])

    assert repo.delete_list(ACCOUNT, LIST) == 2
    assert repo.load(ACCOUNT, LIST) == {}
    repo.upsert_many(ACCOUNT, LIST, [member(9)])  # a fresh log starts again
    assert list(repo.load(ACCOUNT, LIST)) == [member(9).member_id]


def test_lookup_reads_the_latest_contact_ids_and_emails_of_some_members(
    repo: ListMemberRepository,
) -> None:
    repo.upsert_many(ACCOUNT, LIST, [member(n) for n in range(10)])
    moved = member(4, email="moved@example.org").model_copy(update={"contact_id": 7777})
    repo.upsert_many(ACCOUNT, LIST, [moved], removed=[member(5).member_id])
    wanted = [member(n).member_id for n in (2, 4, 5)] + [str(uuid.UUID(int=12345))]

    keys_only = repo.lookup(ACCOUNT, LIST, wanted)
    whole = repo.lookup(ACCOUNT, LIST, wanted, data=True)

    assert {k: m.contact_id for k, m in keys_only.items()} == {
        member(2).member_id: 1002,
        member(4).member_id: 7777,
    }
    assert whole[member(4).member_id] == moved
    assert whole[member(2).member_id] == member(2)


def test_two_writers_that_pick_the_same_chunk_number_both_land_in_order(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = list_members(runtime)
    second = ListMemberRepository(runtime.tables.client("ListSnapshots"))
    first.upsert_many(ACCOUNT, LIST, [member(1)])
    newest = second._newest(f"{ACCOUNT}_{LIST}")
    first.upsert_many(ACCOUNT, LIST, [member(2)])
    # The second writer read the newest chunk before the first wrote again: same number.
    monkeypatch.setattr(second, "_newest", lambda partition: newest)
    calls = 0
    real = ListMemberRepository._newest

    def stale_once(partition: str) -> int:
        nonlocal calls
        calls += 1
        return newest if calls == 1 else real(second, partition)

    monkeypatch.setattr(second, "_newest", stale_once)

    second.upsert_many(ACCOUNT, LIST, [member(1, title="Later")])

    assert first.load(ACCOUNT, LIST) == {
        member(1).member_id: member(1, title="Later"),
        member(2).member_id: member(2),
    }
    assert chunk_count(first) == 3


# The push index ----------------------------------------------------------------------------


def repo_runtime(repo: ListMemberRepository) -> Any:
    """A stand-in for `Runtime` where only the snapshot store is used."""

    class Services:
        def repository(self, kind: type[Any]) -> ListMemberRepository:
            return repo

    return Services()


def test_the_index_tells_unchanged_from_changed_and_new_members(
    repo: ListMemberRepository,
) -> None:
    repo.upsert_many(ACCOUNT, LIST, [member(n) for n in range(3)])
    repo.upsert_many(ACCOUNT, LIST, [member(1, title="Director")])
    index = index_of(repo_runtime(repo))

    assert len(index) == 3
    assert index.see(member_bytes(member(0).member_id)) == values_fingerprint(member(0).values_hash)
    newest = member(1, title="Director").values_hash
    assert index.see(member_bytes(member(1).member_id)) == values_fingerprint(newest)
    assert index.see(member_bytes(member(1).member_id)) != values_fingerprint(member(1).values_hash)
    assert index.see(member_bytes(str(uuid.UUID(int=555)))) is None


def test_leavers_are_the_stored_members_not_seen_with_their_contact_ids(
    repo: ListMemberRepository,
) -> None:
    repo.upsert_many(ACCOUNT, LIST, [member(n) for n in range(6)])
    index = index_of(repo_runtime(repo))
    for n in (0, 2, 4):
        index.see(member_bytes(member(n).member_id))
    # This run's own writes: a newcomer, member 2 pushed again, member 4 removed as ineligible.
    repo.upsert_many(
        ACCOUNT, LIST, [member(50), member(2, title="New")], removed=[member(4).member_id]
    )

    stored = index.resolve(repo.iter_key_chunks(ACCOUNT, LIST), leavers=True)

    assert sorted(stored.leavers) == sorted((member(n).member_id, 1000 + n) for n in (1, 3, 5))


def test_a_member_whose_email_changed_resolves_to_its_old_contact_id(
    repo: ListMemberRepository,
) -> None:
    repo.upsert_many(ACCOUNT, LIST, [member(n) for n in range(3)])
    index = index_of(repo_runtime(repo))
    moved = member(1, email="new.address@example.org")
    stored_fingerprint = index.see(member_bytes(moved.member_id))

    assert stored_fingerprint is not None
    assert stored_fingerprint != values_fingerprint(moved.values_hash)  # the email is hashed
    found = index.resolve(repo.iter_key_chunks(ACCOUNT, LIST), [moved.member_id])
    assert found.contacts == {moved.member_id: 1001}
    assert found.leavers == []  # not asked for

    repo.upsert_many(ACCOUNT, LIST, [moved.model_copy(update={"contact_id": 2001})])
    assert repo.load(ACCOUNT, LIST)[moved.member_id].email == "new.address@example.org"
    again = index_of(repo_runtime(repo)).resolve(
        repo.iter_key_chunks(ACCOUNT, LIST), [moved.member_id]
    )
    assert again.contacts == {moved.member_id: 2001}


def test_an_index_takes_twelve_bytes_a_member_and_a_fixed_hundred_kilobytes() -> None:
    members = 50_000
    draw = random.Random(3)
    keys = [
        (draw.randbytes(16), draw.randrange(256), draw.randrange(2**32), n, 0)
        for n in range(members)
    ]
    tracemalloc.start()
    try:
        index = SnapshotIndex(iter(keys))
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    assert len(index) == members
    assert held < 12.5 * members + 100_000
    assert all(index.see(k[0]) == (k[1] << 32 | k[2]) for k in keys[:1000])


# Compaction --------------------------------------------------------------------------------


def churn(repo: ListMemberRepository, monkeypatch: pytest.MonkeyPatch) -> dict[str, MemberSnapshot]:
    """Small chunks, each member rewritten many times and a few removed: compaction is due."""
    monkeypatch.setattr(snapshot_chunks, "CHUNK_MEMBERS", 4)
    monkeypatch.setattr("shared.sync.marketing_lists.push_index.CHUNK_MEMBERS", 4)
    for round_ in range(6):
        repo.upsert_many(ACCOUNT, LIST, [member(n, title=f"Title {round_}") for n in range(12)])
    repo.delete_many(ACCOUNT, LIST, [member(n).member_id for n in (3, 7)])
    return repo.load(ACCOUNT, LIST)


def test_loading_the_index_compacts_a_log_of_superseded_records(
    repo: ListMemberRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = churn(repo, monkeypatch)
    chunks_before = chunk_count(repo)

    index = index_of(repo_runtime(repo))

    assert len(index) == 10
    assert chunk_count(repo) == 3 < chunks_before  # 10 members in chunks of 4
    assert repo.load(ACCOUNT, LIST) == before
    assert member(3).member_id not in before
    assert not index_of(repo_runtime(repo)).compaction_due(chunk_count(repo))


def test_a_compaction_that_dies_before_deleting_leaves_the_same_snapshot(
    repo: ListMemberRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = churn(repo, monkeypatch)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(repo._table, "submit_transaction", killed)
        with pytest.raises(RuntimeError):
            index_of(repo_runtime(repo))

    assert repo.load(ACCOUNT, LIST) == before  # old chunks and the new copy read the same
    index_of(repo_runtime(repo))  # the next load compacts again, this time to the end
    assert repo.load(ACCOUNT, LIST) == before and chunk_count(repo) == 3


def test_a_compaction_gives_way_to_a_writer_that_appended_since_the_index_was_read(
    repo: ListMemberRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    churn(repo, monkeypatch)
    sequences = [sequence for sequence, _ in repo.iter_key_chunks(ACCOUNT, LIST)]
    index = SnapshotIndex(k for _, keys in repo.iter_key_chunks(ACCOUNT, LIST) for k in keys)
    repo.upsert_many(ACCOUNT, LIST, [member(99)])  # another run's write
    chunks_before = chunk_count(repo)

    with pytest.raises(StoreConflict):
        repo.rewrite(ACCOUNT, LIST, index.claim, newest=sequences[0])

    assert chunk_count(repo) == chunks_before
    assert member(99).member_id in repo.load(ACCOUNT, LIST)
