from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts
from shared.runtime import Runtime
from shared.storage.audit_repo import audit_row_key
from shared.storage.entities import TRUNCATED
from shared.sync_types import SyncType

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _record(started: datetime, sync_type: SyncType, run: str) -> AuditRecord:
    return AuditRecord(
        account_id="acme",
        row_key=audit_row_key(started, run),
        run_id=run,
        sync_type=sync_type,
        trigger="Scheduled",
        status=AuditStatus.COMPLETED,
        started=started,
        finished=started + timedelta(seconds=3),
        counts=Counts(read=5, created=2),
    )


def test_newest_first_and_filters(runtime: Runtime) -> None:
    for day in range(5):
        st = SyncType.CRM_METADATA if day % 2 else SyncType.DATA_LABELS
        runtime.audit.write(_record(T0 + timedelta(days=day), st, f"r{day}"))

    everything = runtime.audit.recent("acme")
    assert [r.run_id for r in everything] == ["r4", "r3", "r2", "r1", "r0"]

    labels = runtime.audit.recent("acme", sync_type=SyncType.DATA_LABELS)
    assert [r.run_id for r in labels] == ["r4", "r2", "r0"]

    recent = runtime.audit.recent("acme", since=T0 + timedelta(days=3))
    assert [r.run_id for r in recent] == ["r4", "r3"]
    assert recent[0].counts == Counts(read=5, created=2)


def test_writing_a_run_twice_keeps_one_row(runtime: Runtime) -> None:
    record = _record(T0, SyncType.DATA_LABELS, "same")
    runtime.audit.write(record.model_copy(update={"status": AuditStatus.IN_PROGRESS}))
    runtime.audit.write(record)

    rows = runtime.audit.recent("acme")
    assert len(rows) == 1 and rows[0].status is AuditStatus.COMPLETED


def test_purge_removes_rows_and_details_older_than_30_days(runtime: Runtime) -> None:
    now = T0 + timedelta(days=40)
    old = _record(now - timedelta(days=31), SyncType.CRM_METADATA, "old")
    edge = _record(now - timedelta(days=29, hours=23), SyncType.CRM_METADATA, "edge")
    new = _record(now - timedelta(hours=1), SyncType.CRM_METADATA, "new")
    for record in (old, edge, new):
        runtime.audit.write(record)
        runtime.audit.add_detail(
            "acme", record.row_key, AuditDetail(item="List/A #1", status=AuditStatus.COMPLETED)
        )

    removed = runtime.audit.purge(["acme"], older_than=now - timedelta(days=30))

    assert removed == 1
    assert [r.run_id for r in runtime.audit.recent("acme")] == ["new", "edge"]
    assert runtime.audit.details("acme", old.row_key) == []
    assert [d.item for d in runtime.audit.details("acme", new.row_key)] == ["List/A #1"]


def test_items_that_share_a_name_keep_a_detail_row_each(runtime: Runtime) -> None:
    # Two campaigns called "Newsletter" in one run: one row each; a campaign's second detail
    # in the run (a replayed slice) replaces its first.
    record = _record(T0, SyncType.CAMPAIGN_STATISTICS, "r1")
    runtime.audit.write(record)
    writes = (("campaign 1", "first"), ("campaign 2", "second"), ("campaign 1", "again"))
    for key, message in writes:
        runtime.audit.add_detail("acme", record.row_key, AuditDetail(
            item="Newsletter", key=key, status=AuditStatus.COMPLETED, message=message))  # fmt: skip

    details = runtime.audit.details("acme", record.row_key)

    assert sorted(d.message for d in details) == ["again", "second"]
    assert {d.item for d in details} == {"Newsletter"}


def test_no_column_can_outgrow_a_table_property(runtime: Runtime) -> None:
    # 64 KiB per string property = 32,768 UTF-16 code units; an emoji takes two.
    huge = AuditRecord(
        **{**_record(T0, SyncType.DATA_LABELS, "r1").model_dump(),
           "sync_type": "S" * 1_000_000, "message": "\U0001f600" * 40_000,
           "trigger": "T" * 70_000},
    )  # fmt: skip
    runtime.audit.write(huge)
    runtime.audit.add_detail("acme", huge.row_key, AuditDetail(
        item="L" * 50_000, status=AuditStatus.FAILED, message="m" * 1_000_000))  # fmt: skip

    [row] = runtime.audit.recent("acme")
    [detail] = runtime.audit.details("acme", huge.row_key)
    for text in (str(row.sync_type), row.message, row.trigger, detail.item, detail.message):
        assert text.endswith(TRUNCATED)
        assert len(text.encode("utf-16-le")) <= 64 * 1024
    assert row.message.startswith("\U0001f600" * 1000) and row.run_id == "r1"


def test_write_once_keeps_one_row_per_run_id(runtime: Runtime) -> None:
    first = _record(T0, SyncType.DATA_LABELS, "poison-1")
    later = _record(T0 + timedelta(minutes=5), SyncType.DATA_LABELS, "poison-1")

    assert runtime.audit.write_once(first) is True
    assert runtime.audit.write_once(later) is False

    assert [r.row_key for r in runtime.audit.recent("acme")] == [first.row_key]


def test_write_once_racing_writers_leave_one_row(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Worker A wrote its row between worker B's check and B's write.
    first = _record(T0, SyncType.DATA_LABELS, "poison-2")
    later = _record(T0 + timedelta(seconds=1), SyncType.DATA_LABELS, "poison-2")
    runtime.audit.write(later)
    rows_of_run = runtime.audit._rows_of_run
    checks = iter([[]])
    monkeypatch.setattr(
        runtime.audit, "_rows_of_run", lambda *args: next(checks, None) or rows_of_run(*args)
    )

    runtime.audit.write_once(first)

    assert len(runtime.audit.recent("acme")) == 1
