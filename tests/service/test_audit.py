"""The audit as the Sync Audit panel and the admin API read it: newest first, filtered by
sync type and start time, in pages that neither skip nor repeat a run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus
from shared.errors import NotFoundError
from shared.runtime import Runtime
from shared.service import audit
from shared.storage.audit_repo import audit_row_key
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock


def _write_runs(rt: Runtime, clock: ManualClock, count: int) -> list[AuditRecord]:
    records = []
    for n in range(count):
        started = clock() - timedelta(hours=count - n)
        sync_type = SyncType.DATA_LABELS if n % 2 else SyncType.CRM_METADATA
        record = AuditRecord(
            account_id="acme",
            row_key=audit_row_key(started, f"run-{n}"),
            run_id=f"run-{n}",
            sync_type=sync_type,
            trigger="Scheduled",
            status=AuditStatus.COMPLETED,
            started=started,
            finished=started + timedelta(minutes=1),
        )
        rt.audit.write(record)
        records.append(record)
    return records


def test_pages_walk_every_run_newest_first_exactly_once(
    sync_runtime: Runtime, acme: EmailAccount, clock: ManualClock
) -> None:
    written = _write_runs(sync_runtime, clock, 7)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = audit.runs(sync_runtime, "acme", audit.AuditQuery(limit=3, cursor=cursor))
        seen += [r.run_id for r in page.runs]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [r.run_id for r in reversed(written)]
    assert pages == 3


def test_filters_by_sync_type_and_start_time(
    sync_runtime: Runtime, acme: EmailAccount, clock: ManualClock
) -> None:
    _write_runs(sync_runtime, clock, 6)  # started 6..1 hours ago, alternating types
    query = audit.AuditQuery(sync_type=SyncType.DATA_LABELS, since=clock() - timedelta(hours=3.5))
    page = audit.runs(sync_runtime, "acme", query)
    assert [r.run_id for r in page.runs] == ["run-5", "run-3"]
    assert page.next_cursor is None


def test_a_run_with_its_details(
    sync_runtime: Runtime, acme: EmailAccount, clock: ManualClock
) -> None:
    record = _write_runs(sync_runtime, clock, 1)[0]
    detail = AuditDetail(item="Newsletter", status=AuditStatus.COMPLETED, message="3 sent")
    sync_runtime.audit.add_detail("acme", record.row_key, detail)

    found = audit.run(sync_runtime, "acme", record.row_key)

    assert found.run.run_id == "run-0" and [d.item for d in found.details] == ["Newsletter"]
    with pytest.raises(NotFoundError, match="No audit row 'nope' in account 'acme'"):
        audit.run(sync_runtime, "acme", "nope")


def test_an_unknown_account_is_named_and_a_zero_limit_refused(
    sync_runtime: Runtime, acme: EmailAccount
) -> None:
    with pytest.raises(NotFoundError, match="No email account 'nosuch'"):
        audit.runs(sync_runtime, "nosuch", audit.AuditQuery())
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        audit.AuditQuery(limit=0)
