"""The scheduler's guarantees when it saves and sends in batches: overlapping ticks enqueue a
run once, a crash between the save and the send is recovered, a conflict on one schedule of an
account's transaction keeps the others, and a tick whose budget runs out leaves the rest to the
next tick."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import count

import pytest
from azure.data.tables import TableClient

from shared.accounts import EmailAccount
from shared.messaging.contract import SyncRequest, Trigger
from shared.pipeline import admin
from shared.pipeline.scheduler import Scheduler
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.storage import schedules_repo
from shared.storage.schedules_repo import SaveOutcome, ScheduleRecord, ScheduleStatus
from shared.storage.transactions import Operation
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import take_queued

EVERY_5 = ScheduleSpec(interval=Interval.MINUTES_5)
TYPES = (SyncType.DATA_LABELS, SyncType.CRM_METADATA)
ACCOUNTS = ("acme", "beta", "gamma")


@pytest.fixture
def due_now(runtime: Runtime, clock: ManualClock) -> list[tuple[str, SyncType]]:
    """Three accounts with DataLabels and CrmMetadata every 5 minutes, due now."""
    for account_id in ACCOUNTS:
        runtime.accounts.save(EmailAccount(account_id=account_id, name=account_id))
        for sync_type in TYPES:
            admin.set_schedule(runtime, account_id, sync_type, EVERY_5)
    clock.advance(minutes=5)
    return [(a, t) for a in ACCOUNTS for t in TYPES]


def _assert_each_run_queued_once(
    runtime: Runtime, messages: list[SyncRequest], expected: list[tuple[str, SyncType]]
) -> None:
    assert sorted((m.account_id, m.sync_type) for m in messages) == sorted(expected)
    for message in messages:
        record = runtime.schedules.get(message.account_id, message.sync_type)
        assert record.status is ScheduleStatus.QUEUED
        assert (record.run_id, record.run_sequence) == (message.run_id, message.sequence)


def _before_first_save(runtime: Runtime, action: Callable[[], object]) -> None:
    save_many = runtime.schedules.save_many
    calls = count()

    def hooked(records: Sequence[ScheduleRecord]) -> SaveOutcome:
        if next(calls) == 0:
            action()
        return save_many(records)

    runtime.schedules.save_many = hooked  # type: ignore[method-assign]


def _before_first_send(runtime: Runtime, action: Callable[[], object]) -> None:
    queue = runtime.queue
    send = queue.send
    calls = count()

    def hooked(requests: Sequence[SyncRequest]) -> None:
        if next(calls) == 0:
            action()
        send(requests)

    queue.send = hooked  # type: ignore[method-assign]


def test_a_tick_overlapping_between_read_and_save_enqueues_nothing_twice(
    runtime: Runtime, due_now: list[tuple[str, SyncType]]
) -> None:
    other = Scheduler(runtime)
    _before_first_save(runtime, other.tick)  # the other tick reads, saves and sends first

    report = Scheduler(runtime).tick()

    assert report.enqueued == [] and report.skipped == len(due_now)
    _assert_each_run_queued_once(runtime, take_queued(runtime), due_now)
    assert Scheduler(runtime).tick().enqueued == []


def test_a_tick_overlapping_between_save_and_send_enqueues_nothing_twice(
    runtime: Runtime, due_now: list[tuple[str, SyncType]]
) -> None:
    others: list[int] = []
    _before_first_send(runtime, lambda: others.append(len(Scheduler(runtime).tick().enqueued)))

    report = Scheduler(runtime).tick()

    assert others == [0] and len(report.enqueued) == len(due_now)
    _assert_each_run_queued_once(runtime, take_queued(runtime), due_now)


def test_a_crash_between_save_and_send_is_recovered_after_the_queued_timeout(
    runtime: Runtime, due_now: list[tuple[str, SyncType]], clock: ManualClock
) -> None:
    def crash() -> None:
        raise SystemExit("killed")

    _before_first_send(runtime, crash)
    with pytest.raises(SystemExit):
        Scheduler(runtime).tick()
    assert take_queued(runtime) == []
    assert Scheduler(runtime).tick().recovered == []  # before the timeout: nothing resent

    clock.advance(seconds=runtime.settings.queued_timeout_seconds + 1)
    report = Scheduler(runtime).tick()

    assert {r.trigger for r in report.recovered} == {Trigger.RECOVERY}
    messages = take_queued(runtime)
    _assert_each_run_queued_once(runtime, messages, due_now)
    assert {m.sequence for m in messages} == {1}


def test_a_conflict_on_one_schedule_keeps_the_rest_of_its_account(
    runtime: Runtime, due_now: list[tuple[str, SyncType]], clock: ManualClock
) -> None:
    def someone_edits_acme_crm_metadata() -> None:
        record = runtime.schedules.get("acme", SyncType.CRM_METADATA)
        record.last_message = "edited meanwhile"  # due time unchanged: still due
        runtime.schedules.save(record)

    _before_first_save(runtime, someone_edits_acme_crm_metadata)
    first = Scheduler(runtime).tick()
    second = Scheduler(runtime).tick()

    assert ("acme", SyncType.CRM_METADATA) not in {
        (r.account_id, r.sync_type) for r in first.enqueued
    }
    assert len(first.enqueued) == len(due_now) - 1 and first.skipped == 1
    assert [(r.account_id, r.sync_type) for r in second.enqueued] == [
        ("acme", SyncType.CRM_METADATA)
    ]
    _assert_each_run_queued_once(runtime, take_queued(runtime), due_now)


def test_a_tick_that_spends_its_budget_leaves_the_rest_to_the_next_tick(
    runtime: Runtime, due_now: list[tuple[str, SyncType]]
) -> None:
    ticks = count()  # each look at the timer: one second later
    scheduler = Scheduler(
        runtime, budget_seconds=1.5, timer=lambda: float(next(ticks)), chunk_schedules=2
    )

    first = scheduler.tick()
    second = scheduler.tick()

    # One chunk is one account's two schedules; the budget allows the chunks begun by 1.5 s.
    assert len(first.enqueued) == 4 and first.left_for_next_tick == 2
    assert len(second.enqueued) == 2 and second.left_for_next_tick == 0
    assert {r.account_id for r in second.enqueued} == {"gamma"}
    _assert_each_run_queued_once(runtime, take_queued(runtime), due_now)


def test_a_transaction_applied_but_answered_with_412_on_its_retry_still_sends(
    runtime: Runtime, due_now: list[tuple[str, SyncType]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first answer of a transaction is lost; the client's retry finds its own ETags
    stale (412). The rows are the tick's own writes: their runs are sent, once."""
    submit = schedules_repo.submit
    calls = count()

    def answer_lost_then_retried(table: TableClient, operations: list[Operation]) -> list[str]:
        etags = submit(table, operations)
        if next(calls) == 0:
            return submit(table, operations)  # raises TransactionRefused(412)
        return etags

    monkeypatch.setattr(schedules_repo, "submit", answer_lost_then_retried)
    report = Scheduler(runtime).tick()

    assert len(report.enqueued) == len(due_now) and report.skipped == 0
    _assert_each_run_queued_once(runtime, take_queued(runtime), due_now)
