"""Unset dates are left out of the entity, never written as "" (a column mixing String and
DateTime breaks Storage Explorer's date filters); rows written before, holding "", read as
unset. EmailDataLabels.CreatedUtc is set when a label is created and kept on updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import UpdateMode

from shared.audit import AuditRecord, AuditStatus
from shared.runtime import Runtime
from shared.storage.audit_repo import audit_row_key
from shared.storage.data_labels_repo import DataLabel
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _run(finished: datetime | None) -> AuditRecord:
    return AuditRecord(
        account_id="acme",
        row_key=audit_row_key(T0, "r1"),
        run_id="r1",
        sync_type=SyncType.DATA_LABELS,
        trigger="Scheduled",
        status=AuditStatus.IN_PROGRESS if finished is None else AuditStatus.COMPLETED,
        started=T0,
        finished=finished,
    )


def test_an_audit_row_in_progress_has_no_finish_columns_until_it_finishes(
    runtime: Runtime,
) -> None:
    table = runtime.tables.client("SyncAudit")
    runtime.audit.write(_run(None))
    in_progress = table.get_entity("acme", _run(None).row_key)
    assert "FinishedUtc" not in in_progress and "DurationSeconds" not in in_progress

    runtime.audit.write(_run(T0 + timedelta(seconds=90)))
    done = table.get_entity("acme", _run(None).row_key)
    assert done["FinishedUtc"] == T0 + timedelta(seconds=90)
    assert done["DurationSeconds"] == 90.0


def test_an_old_audit_row_with_blank_finish_reads_as_unfinished(runtime: Runtime) -> None:
    runtime.audit.write(_run(None))
    table = runtime.tables.client("SyncAudit")
    row = dict(table.get_entity("acme", _run(None).row_key))
    table.update_entity({**row, "FinishedUtc": "", "DurationSeconds": ""}, mode=UpdateMode.REPLACE)

    [record] = runtime.audit.recent("acme")
    assert record.finished is None and record.status is AuditStatus.IN_PROGRESS


def test_a_new_label_gets_created_utc_and_keeps_it_on_every_update(
    runtime: Runtime, clock: ManualClock
) -> None:
    created = clock.now
    runtime.data_labels.save("acme", DataLabel(name="TIER"))  # as `labels add` builds it
    clock.advance(hours=1)
    stored = runtime.data_labels.get("acme", "TIER")
    assert stored is not None and stored.created_utc == created

    # An update from a label read first (the DataLabels sync) and one built anew: both keep it.
    runtime.data_labels.save("acme", stored.model_copy(update={"is_synchronised": True}))
    runtime.data_labels.save("acme", DataLabel(name="TIER", last_error="refused"))

    row = runtime.tables.client("EmailDataLabels").get_entity("acme", "TIER")
    assert row["CreatedUtc"] == created
    assert row["IsSynchronised"] is False and row["LastError"] == "refused"  # the rest replaced


def test_a_label_written_before_created_utc_was_kept_stays_without_one(
    runtime: Runtime,
) -> None:
    table = runtime.tables.client("EmailDataLabels")
    table.create_entity(
        {"PartitionKey": "acme", "RowKey": "OLD", "Name": "OLD", "Type": "String",
         "CreatedUtc": ""}
    )  # fmt: skip
    old = runtime.data_labels.get("acme", "OLD")
    assert old is not None and old.created_utc is None

    runtime.data_labels.save("acme", old.model_copy(update={"is_synchronised": True}))

    row = table.get_entity("acme", "OLD")
    assert "CreatedUtc" not in row  # not invented (nobody knows when it was made), not blank
    assert row["IsSynchronised"] is True


@pytest.mark.parametrize("cleared", ["", None], ids=["blank", "removed"])
def test_a_label_whose_created_date_was_cleared_by_hand_reads_it_as_unset(
    runtime: Runtime, cleared: str | None
) -> None:
    runtime.data_labels.save("acme", DataLabel(name="TIER"))
    table = runtime.tables.client("EmailDataLabels")
    row = dict(table.get_entity("acme", "TIER"))
    row.pop("CreatedUtc")
    if cleared is not None:
        row["CreatedUtc"] = cleared
    table.update_entity(row, mode=UpdateMode.REPLACE)  # what Storage Explorer does

    [label] = runtime.data_labels.for_account("acme")
    assert label.name == "TIER" and label.created_utc is None


def test_an_unlinked_date_is_left_out_of_a_list_link(runtime: Runtime) -> None:
    links = list_links(runtime)
    link = ListLink(list_id="l1", list_name="News", member_type="contact", address_book_id=7,
                    address_book_name="News", origin="Dynamics")  # fmt: skip
    links.save("acme", link)

    row = runtime.tables.client("MarketingListLinks").get_entity("acme", "list_l1")
    assert "LinkedUtc" not in row
    table = runtime.tables.client("MarketingListLinks")
    table.update_entity({**dict(row), "LinkedUtc": ""}, mode=UpdateMode.REPLACE)  # an old row
    again = links.by_list("acme", "l1")
    assert again is not None and again.linked_utc is None
