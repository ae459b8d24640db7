"""Entity group transactions written without the SDK's MIME builder, against Azurite: what
they store reads back through the SDK, their ETags work for later conditional writes, and a
refused operation applies none of the others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from azure.core import MatchConditions
from azure.data.tables import TableClient, UpdateMode

from shared.runtime import Runtime
from shared.storage.transactions import Operation, TransactionRefused, submit

NOW = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def table(runtime: Runtime) -> Iterator[TableClient]:
    yield runtime.tables.client("SyncDue")


def test_rows_read_back_through_the_sdk_with_their_types(table: TableClient) -> None:
    row = {"PartitionKey": "p", "RowKey": "it's 1", "Text": "x", "Empty": "", "Count": 3,
           "Big": 2**40, "Flag": True, "Ratio": 1.5, "At": NOW}  # fmt: skip
    [etag] = submit(table, [Operation("create", row)])

    stored = table.get_entity("p", "it's 1")
    assert {k: stored[k] for k in ("Text", "Empty", "Count", "Flag", "Ratio", "At")} == {
        "Text": "x", "Empty": "", "Count": 3, "Flag": True, "Ratio": 1.5, "At": NOW,
    }  # fmt: skip
    assert stored["Big"].value == 2**40
    assert stored.metadata["etag"] == etag
    # The ETag it returned guards the SDK's own conditional write, and the row read back can
    # be written again as it is (typed values included).
    table.update_entity(
        {**stored, "Text": "y"}, mode=UpdateMode.REPLACE, etag=etag,
        match_condition=MatchConditions.IfNotModified,
    )  # fmt: skip
    submit(table, [Operation("upsert", dict(table.get_entity("p", "it's 1")))])
    assert table.get_entity("p", "it's 1")["Big"].value == 2**40


def test_a_stale_etag_refuses_the_whole_transaction(table: TableClient) -> None:
    etags = submit(table, [Operation("upsert", {"PartitionKey": "p", "RowKey": r, "V": 0})
                           for r in ("a", "b")])  # fmt: skip
    table.upsert_entity({"PartitionKey": "p", "RowKey": "b", "V": 9})  # someone else

    with pytest.raises(TransactionRefused) as refused:
        submit(table, [Operation("update", {"PartitionKey": "p", "RowKey": r, "V": 1}, etag=e)
                       for r, e in zip("ab", etags, strict=True)])  # fmt: skip

    assert refused.value.status == 412
    assert [table.get_entity("p", r)["V"] for r in "ab"] == [0, 9]  # nothing applied


def test_deleting_a_missing_row_refuses_the_transaction(table: TableClient) -> None:
    with pytest.raises(TransactionRefused) as refused:
        submit(table, [Operation("upsert", {"PartitionKey": "p", "RowKey": "new"}),
                       Operation("delete", {"PartitionKey": "p", "RowKey": "gone"})])  # fmt: skip
    assert refused.value.status == 404
    assert list(table.list_entities()) == []
