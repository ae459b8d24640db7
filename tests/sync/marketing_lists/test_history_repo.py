"""The list membership history on Azurite: a set of ids per account and record type, packed
into few large entities, merged when appends pile up."""

from __future__ import annotations

import uuid

from shared.runtime import Runtime
from shared.sync.marketing_lists.history_repo import COMPACT_AT, MembershipHistory


def _ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_ids_are_kept_per_account_and_type_and_only_new_ones_are_appended(
    runtime: Runtime,
) -> None:
    history = runtime.repository(MembershipHistory)
    first = _ids(5000)
    assert history.add("acme", "contact", first) == 5000
    assert history.add("acme", "contact", [*first[:10], first[0].upper()]) == 0
    assert history.add("acme", "lead", first[:3]) == 3
    assert history.add("globex", "contact", first[:1]) == 1

    assert history.ids("acme", "contact") == set(first)
    assert history.ids("acme", "lead") == set(first[:3])
    assert history.ids("acme", "account") == set()
    table = runtime.tables.client(MembershipHistory.TABLE)
    rows = list(table.query_entities("PartitionKey eq 'acme'"))
    assert len(rows) == 2  # 5000 contact ids in one entity, the leads in another


def test_many_small_appends_are_merged_into_one_entity(runtime: Runtime) -> None:
    history = runtime.repository(MembershipHistory)
    added: list[str] = []
    for _ in range(COMPACT_AT + 3):
        batch = _ids(2)
        history.add("acme", "account", batch)
        added += batch

    assert history.ids("acme", "account") == set(added)
    table = runtime.tables.client(MembershipHistory.TABLE)
    assert len(list(table.query_entities("PartitionKey eq 'acme'"))) <= 4
