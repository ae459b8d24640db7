"""Rows an operator hand-edited in Storage Explorer: one unreadable schedule or due-index row
is skipped, logged and audited once for its account; every other schedule keeps running."""

from __future__ import annotations

from typing import Any

import pytest
from azure.data.tables import UpdateMode

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.errors import InvalidMessage
from shared.messaging.contract import SyncRequest
from shared.pipeline import admin
from shared.pipeline.scheduler import Scheduler
from shared.pipeline.worker import Worker
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import take_queued

EVERY_5 = ScheduleSpec(interval=Interval.MINUTES_5)
TYPES = (SyncType.DATA_LABELS, SyncType.CRM_METADATA)


@pytest.fixture
def two_accounts(runtime: Runtime, account: EmailAccount, clock: ManualClock) -> None:
    """acme and beta, both with DataLabels and CrmMetadata due in 5 minutes."""
    runtime.accounts.save(EmailAccount(account_id="beta", name="Beta"))
    for account_id in ("acme", "beta"):
        for sync_type in TYPES:
            admin.set_schedule(runtime, account_id, sync_type, EVERY_5)
    clock.advance(minutes=5)


def _edit_schedule(runtime: Runtime, account_id: str, row_key: str, **columns: Any) -> None:
    table = runtime.tables.client("SyncSchedules")
    entity = dict(table.get_entity(account_id, row_key))
    entity.update(columns)
    table.update_entity(entity, mode=UpdateMode.REPLACE)  # what Storage Explorer does


def _invalid_audits(runtime: Runtime, account_id: str) -> list[str]:
    return [
        r.message
        for r in runtime.audit.recent(account_id, limit=50)
        if r.status is AuditStatus.FAILED and "is invalid" in r.message
    ]


def _assert_every_queued_schedule_has_its_message(
    runtime: Runtime, messages: list[SyncRequest]
) -> None:
    sent = {(m.account_id, m.sync_type, m.run_id) for m in messages}
    for account_id in ("acme", "beta"):
        for record in runtime.schedules.for_account(account_id):
            if record.status is ScheduleStatus.QUEUED:
                assert (account_id, record.sync_type, record.run_id) in sent, record


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({"Interval": "every fortnight"}, "Interval 'every fortnight' is not an interval"),
        ({"Status": "Paused"}, "Status 'Paused'"),
        ({"WindowKind": "Sometimes"}, "WindowKind 'Sometimes'"),
        ({"WindowKind": "Days of week", "WindowDays": "Mon", "WindowStartUtc": "9am"}, "'9am'"),
        ({"NextSyncUtc": "tomorrow"}, "NextSyncUtc 'tomorrow'"),
        ({"Run_Sequence": "three"}, "Run_Sequence 'three'"),
    ],
)
def test_one_unreadable_schedule_row_skips_only_that_schedule(
    runtime: Runtime, two_accounts: None, columns: dict[str, Any], problem: str
) -> None:
    _edit_schedule(runtime, "beta", "CrmMetadata", **columns)
    scheduler = Scheduler(runtime)

    report = scheduler.tick()
    scheduler.tick()  # the next tick neither fails nor audits it again

    enqueued = {(r.account_id, r.sync_type) for r in report.enqueued}
    assert enqueued == {
        ("acme", SyncType.DATA_LABELS), ("acme", SyncType.CRM_METADATA),
        ("beta", SyncType.DATA_LABELS),
    }  # fmt: skip
    messages = take_queued(runtime)
    assert len(messages) == 3
    _assert_every_queued_schedule_has_its_message(runtime, messages)
    [message] = _invalid_audits(runtime, "beta")
    assert message.startswith("The schedule of CrmMetadata is invalid: ")
    assert problem in message
    assert "fix it with `schedule set beta CrmMetadata --interval" in message
    assert _invalid_audits(runtime, "acme") == []


def test_a_fixed_schedule_runs_again(
    runtime: Runtime, two_accounts: None, clock: ManualClock
) -> None:
    _edit_schedule(runtime, "beta", "CrmMetadata", Interval="every fortnight")
    Scheduler(runtime).tick()

    admin.set_schedule(runtime, "beta", SyncType.CRM_METADATA, EVERY_5)  # `schedule set`
    clock.advance(minutes=5)

    assert ("beta", SyncType.CRM_METADATA) in {
        (r.account_id, r.sync_type) for r in Scheduler(runtime).tick().enqueued
    }


def test_a_run_whose_schedule_row_was_broken_after_it_was_queued_is_audited_once(
    runtime: Runtime, two_accounts: None
) -> None:
    Scheduler(runtime).tick()
    [message] = [m for m in take_queued(runtime) if (m.account_id, m.sync_type) == (
        "beta", SyncType.CRM_METADATA)]  # fmt: skip
    _edit_schedule(runtime, "beta", "CrmMetadata", Interval="every fortnight")
    worker = Worker(runtime)

    for _delivery in range(3):  # redelivered until the host dead-letters it
        with pytest.raises(InvalidMessage):
            worker.handle(message.to_json())

    [audit] = [r for r in runtime.audit.recent("beta", limit=50) if r.run_id != message.run_id
               and "cannot start" in r.message]  # fmt: skip
    assert "Interval 'every fortnight' is not an interval" in audit.message
    assert "fix it with `schedule set beta CrmMetadata" in audit.message


def _due_row(runtime: Runtime, account_id: str, sync_type: SyncType) -> dict[str, Any]:
    table = runtime.tables.client("SyncDue")
    [row] = [
        r for r in table.list_entities() if r["RowKey"].endswith(f"_{account_id}_{sync_type.value}")
    ]
    return dict(row)


@pytest.mark.parametrize(
    "edit",
    [
        {"SyncType": "Nonsense"},
        {"AccountId": None},  # the column removed
        {"AccountId": "nobody"},
    ],
    ids=["unknown sync type", "no AccountId", "another account"],
)
def test_an_unreadable_due_index_row_does_not_stop_the_tick(
    runtime: Runtime, two_accounts: None, edit: dict[str, Any]
) -> None:
    row = _due_row(runtime, "acme", SyncType.DATA_LABELS)
    for column, value in edit.items():
        if value is None:
            del row[column]
        else:
            row[column] = value
    runtime.tables.client("SyncDue").update_entity(row, mode=UpdateMode.REPLACE)
    scheduler = Scheduler(runtime)

    report = scheduler.tick()
    again = scheduler.tick()

    enqueued = {(r.account_id, r.sync_type) for r in report.enqueued}
    # Its RowKey still names the schedule, which is fine: it is rebuilt and runs.
    assert enqueued == {(a, t) for a in ("acme", "beta") for t in TYPES}
    assert again.enqueued == []
    _assert_every_queued_schedule_has_its_message(runtime, take_queued(runtime))
    [message] = [
        r.message for r in runtime.audit.recent("acme", limit=50) if "due index" in r.message
    ]
    assert "DataLabels" in message


def test_schedule_show_lists_an_unreadable_row_as_invalid(
    runtime: Runtime, two_accounts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from shared.cli import app as cli

    monkeypatch.setattr(cli, "load_local_settings", lambda: None)
    _edit_schedule(runtime, "beta", "CrmMetadata", Interval="every fortnight")
    result = CliRunner().invoke(cli.app, ["schedule", "show", "beta"], env={"COLUMNS": "250"})

    assert result.exit_code == 0, result.output
    [row] = [line for line in result.output.splitlines() if "INVALID" in line]
    assert "CrmMetadata" in row and "every fortnight" in row
    assert "fix it with `schedule set beta CrmMetadata" in result.output
