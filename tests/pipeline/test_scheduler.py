from __future__ import annotations

from datetime import timedelta

from shared.accounts import EmailAccount
from shared.messaging.contract import Trigger
from shared.pipeline import admin
from shared.pipeline.scheduler import Scheduler
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec, SyncWindow
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import take_queued

EVERY_5 = ScheduleSpec(interval=Interval.MINUTES_5)


def test_due_schedule_is_enqueued_once_and_marked_added_to_queue(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)
    scheduler = Scheduler(runtime)

    assert scheduler.tick().enqueued == []  # 09:00 set -> first run at 09:05
    clock.advance(minutes=5)
    report = scheduler.tick()
    again = scheduler.tick()  # an overlapping tick finds nothing new

    assert [r.sync_type for r in report.enqueued] == [SyncType.DATA_LABELS]
    assert again.enqueued == [] and again.recovered == []
    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    assert record.status is ScheduleStatus.QUEUED
    [message] = take_queued(runtime)
    assert message.run_id == record.run_id and message.trigger is Trigger.SCHEDULED


def test_manual_and_disabled_accounts_are_never_enqueued(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    runtime.accounts.save(EmailAccount(account_id="off", name="Off", disabled=True))
    admin.set_schedule(runtime, "off", SyncType.DATA_LABELS, EVERY_5)
    admin.set_schedule(runtime, "acme", SyncType.CRM_METADATA, ScheduleSpec())

    clock.advance(hours=2)
    report = Scheduler(runtime).tick()

    assert report.enqueued == []
    assert take_queued(runtime) == []
    record = runtime.schedules.get("off", SyncType.DATA_LABELS)
    assert record.status is ScheduleStatus.NONE
    assert record.next_sync is not None and record.next_sync > clock.now


def test_scheduler_reads_only_due_rows(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    for n in range(30):
        acct = EmailAccount(account_id=f"idle{n}", name=f"Idle {n}")
        admin.provision_account(runtime, acct, {SyncType.DATA_LABELS: ScheduleSpec(
            interval=Interval.ONCE_A_DAY, window=SyncWindow.parse("specific 23:00"))})  # fmt: skip
    admin.set_schedule(runtime, "acme", SyncType.DATA_LABELS, EVERY_5)

    clock.advance(minutes=5)
    assert runtime.schedules.due(clock.now) and len(runtime.schedules.due(clock.now)) == 1
    assert [r.account_id for r in Scheduler(runtime).tick().enqueued] == ["acme"]


def test_sync_now_enqueues_and_refuses_a_second_press(
    runtime: Runtime, account: EmailAccount
) -> None:
    first = admin.sync_now(runtime, "acme", SyncType.CRM_METADATA)
    second = admin.sync_now(runtime, "acme", SyncType.CRM_METADATA)

    assert first.accepted
    assert not second.accepted and "Added to Queue" in second.message
    [message] = take_queued(runtime)
    assert message.trigger is Trigger.MANUAL


def test_sync_now_on_a_disabled_account_says_so(runtime: Runtime) -> None:
    runtime.accounts.save(EmailAccount(account_id="off", name="Off", disabled=True))
    result = admin.sync_now(runtime, "off", SyncType.DATA_LABELS)
    assert not result.accepted and "disabled" in result.message
    assert take_queued(runtime) == []


def test_lost_queue_message_is_recovered_after_the_queued_timeout(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    admin.sync_now(runtime, "acme", SyncType.DATA_LABELS)
    take_queued(runtime)  # the message is lost

    clock.advance(seconds=runtime.settings.queued_timeout_seconds + 1)
    report = Scheduler(runtime).tick()

    [recovered] = report.recovered
    assert recovered.trigger is Trigger.RECOVERY and recovered.sequence == 1
    assert [m.run_id for m in take_queued(runtime)] == [recovered.run_id]


def test_run_whose_worker_died_is_re_enqueued_when_its_lease_expires(
    runtime: Runtime, account: EmailAccount, clock: ManualClock
) -> None:
    admin.sync_now(runtime, "acme", SyncType.DATA_LABELS)
    take_queued(runtime)
    record = runtime.schedules.get("acme", SyncType.DATA_LABELS)
    record.status = ScheduleStatus.IN_PROGRESS  # what a worker's claim leaves behind
    record.lease_owner = "dead-worker"
    record.lease_until = record.due_at = clock.now + timedelta(minutes=5)
    runtime.schedules.save(record)

    assert Scheduler(runtime).tick().recovered == []
    clock.advance(minutes=5)
    [recovered] = Scheduler(runtime).tick().recovered

    assert recovered.run_id == record.run_id and recovered.trigger is Trigger.RECOVERY
    assert runtime.schedules.get("acme", SyncType.DATA_LABELS).status is ScheduleStatus.QUEUED
