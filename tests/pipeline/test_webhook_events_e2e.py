"""Webhook events through the pipeline: recorded once, coalesced into one targeted run per
(account, sync type), taken by the next run when they arrive during one, never lost between
acceptance and processing, and never looping back the connector's own writes. Azurite, the
local host and both sandboxes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.accounts import EmailAccount
from shared.audit import AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin, webhook_events
from shared.pipeline.scheduler import Scheduler
from shared.pipeline.webhook_events import RecordOutcome
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.data_out import MarketingListsDataOut
from shared.sync_types import SyncType
from shared.webhooks.event import EntityRef
from shared.webhooks.targets import Target, TargetKind
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, take_queued
from tests.pipeline.kills import Killed, die_at_save
from tests.pipeline.webhook_world import OUT, WebhookWorld, build_world


@pytest.fixture
def world(
    sync_runtime: Runtime,
    acme: EmailAccount,
    host: LocalHost,
    clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> WebhookWorld:
    sync_runtime.registry = catalogue().replaced(MarketingListsDataOut())
    world = build_world(sync_runtime, host, clock, dataverse_sandbox, dotdigital_sandbox)
    world.activate("Newsletter")
    world.activate("Prospects")
    assert world.run_scheduled().status is AuditStatus.COMPLETED
    return world


def _webhook_runs(world: WebhookWorld) -> list[Any]:
    return [run for run in world.runs() if run.trigger == "Webhook"]


def test_a_contact_edit_reaches_its_address_book_in_a_targeted_run(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]

    outcome = world.edit_contact(member["contactid"], jobtitle="Head of Webhooks")

    assert outcome is RecordOutcome.RECORDED
    assert world.rt.schedules.get("acme", OUT).status is ScheduleStatus.QUEUED
    world.process()
    assert world.book("Newsletter")[member["emailaddress1"]]["JOBROLE"] == "Head of Webhooks"
    [run] = _webhook_runs(world)
    assert run.status is AuditStatus.COMPLETED, run.message
    # Targeted: only the contact lists were read again, not the lead list.
    items = {d.item for d in world.rt.audit.details("acme", run.row_key)}
    assert items == {"Newsletter"}
    assert world.rt.webhook_targets.pending("acme", OUT) == []


def test_a_change_to_an_unsynced_column_starts_nothing(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]

    outcome = world.edit_contact(member["contactid"], telephone1="555 0100")

    assert outcome is RecordOutcome.NOT_SYNCED
    assert world.rt.schedules.get("acme", OUT).status is ScheduleStatus.NONE
    assert take_queued(world.rt) == []


def test_a_redelivered_event_changes_nothing(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    world.dv.state.update("contact", member["contactid"], {"jobtitle": "Twice told"})
    event = world.event("Update", "contact", member["contactid"], {"jobtitle": "Twice told"})

    assert world.post(event) is RecordOutcome.RECORDED
    assert world.post(event) is RecordOutcome.DUPLICATE
    world.process()
    assert world.post(event) is RecordOutcome.DUPLICATE  # after its run, too

    assert len(_webhook_runs(world)) == 1
    assert world.rt.schedules.get("acme", OUT).status is ScheduleStatus.NONE
    assert take_queued(world.rt) == []


def test_many_events_coalesce_into_one_run(world: WebhookWorld) -> None:
    members = world.members("Newsletter")[:20]

    for n, member in enumerate(members):
        assert world.edit_contact(member["contactid"], jobtitle=f"Role {n}") is (
            RecordOutcome.RECORDED
        )
    queued = take_queued(world.rt)

    assert [(r.sync_type, r.trigger.value) for r in queued] == [(OUT, "Webhook")]
    world.rt.queue.send(queued)  # put it back for the worker
    world.process()
    book = world.book("Newsletter")
    assert [book[m["emailaddress1"]]["JOBROLE"] for m in members] == [
        f"Role {n}" for n in range(20)
    ]
    [run] = _webhook_runs(world)
    [detail] = world.rt.audit.details("acme", run.row_key)
    assert detail.counts.updated == 20


def test_events_that_arrive_during_a_run_are_taken_by_the_next(
    world: WebhookWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, late = world.members("Newsletter")[:2]
    world.edit_contact(first["contactid"], jobtitle="Early")
    targets = world.rt.webhook_targets
    reads = targets.pending
    arrived: list[RecordOutcome] = []

    def pending_then_a_late_edit(*args: Any) -> Any:
        found = reads(*args)
        if not arrived:  # the run has read its targets: this edit comes too late for it
            arrived.append(world.edit_contact(late["contactid"], jobtitle="Late"))
            world.clock.advance(seconds=10)
        return found

    monkeypatch.setattr(targets, "pending", pending_then_a_late_edit)
    world.process()

    assert arrived == [RecordOutcome.RECORDED]
    book = world.book("Newsletter")
    assert (book[first["emailaddress1"]]["JOBROLE"], book[late["emailaddress1"]]["JOBROLE"]) == (
        "Early",
        "Late",
    )
    assert len(_webhook_runs(world)) == 2
    assert targets.pending_pairs() == {}


def test_membership_and_list_events_sync_that_list(world: WebhookWorld) -> None:
    state = world.dv.state
    newsletter = world.lists["Newsletter"]
    outsider = next(
        row_id
        for row_id in state.table("contact").rows
        if row_id not in set(state.list_members(newsletter))
        and (state.row("contact", row_id) or {}).get("emailaddress1")
        and (state.row("contact", row_id) or {})["statecode"] == 0
    )
    state.add_list_member(newsletter, outsider)

    outcome = world.post(
        world.event(
            "Associate",
            "list",
            newsletter,
            relationship="listcontact_association",
            related=(EntityRef(logical_name="contact", id=outsider),),
        )
    )

    assert outcome is RecordOutcome.RECORDED
    world.process()
    email = (state.row("contact", outsider) or {})["emailaddress1"]
    assert email in world.book("Newsletter")
    [run] = _webhook_runs(world)
    assert {d.item for d in world.rt.audit.details("acme", run.row_key)} == {"Newsletter"}


def test_the_connectors_own_writes_do_not_come_back(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    own = world.event(
        "Update",
        "contact",
        member["contactid"],
        {"jobtitle": "Written by the sync"},
        user=world.registration.connector_user_id,
    )

    assert world.post(own) is RecordOutcome.OWN_WRITE
    assert world.rt.webhook_targets.pending_pairs() == {}
    assert world.rt.schedules.get("acme", OUT).status is ScheduleStatus.NONE


def test_manual_schedules_and_disabled_accounts_take_no_events(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    admin.set_schedule(world.rt, "acme", OUT, ScheduleSpec(interval=Interval.MANUAL))

    assert world.edit_contact(member["contactid"], jobtitle="Manual") is RecordOutcome.NOT_SYNCED

    admin.set_schedule(world.rt, "acme", OUT, EVERY_5)
    account = world.rt.accounts.get("acme")
    assert account is not None
    world.rt.accounts.save(account.model_copy(update={"disabled": True}))
    assert world.edit_contact(member["contactid"], jobtitle="Off") is RecordOutcome.NOT_SYNCED
    assert world.rt.webhook_targets.pending_pairs() == {}


def test_a_kill_after_the_targets_were_written_loses_nothing(
    world: WebhookWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = world.members("Newsletter")[0]

    def dies(*args: Any) -> bool:
        raise SystemExit("killed between the event's row and its run")

    monkeypatch.setattr(webhook_events, "start_run", dies)
    with pytest.raises(SystemExit):
        world.edit_contact(member["contactid"], jobtitle="Survivor")
    monkeypatch.undo()
    # Dataverse does not retry a dropped connection (only 502/503/504); nothing is queued.
    assert take_queued(world.rt) == []

    world.clock.advance(seconds=61)
    report = Scheduler(world.rt).tick()  # the backstop: targets left without a run
    assert report.webhook_runs == 1
    world.process()

    assert world.book("Newsletter")[member["emailaddress1"]]["JOBROLE"] == "Survivor"
    assert world.rt.webhook_targets.pending_pairs() == {}


def test_a_lost_run_message_is_recovered_by_the_scheduler(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    world.edit_contact(member["contactid"], jobtitle="Recovered")
    assert len(take_queued(world.rt)) == 1  # and lost

    world.clock.advance(seconds=world.rt.settings.queued_timeout_seconds + 1)
    world.host.fire_timer("scheduler_tick")
    world.host.drain()

    assert world.book("Newsletter")[member["emailaddress1"]]["JOBROLE"] == "Recovered"
    assert world.rt.webhook_targets.pending_pairs() == {}


def test_a_failing_run_does_not_loop_and_its_targets_wait(world: WebhookWorld) -> None:
    labels = world.rt.schedules.get("acme", SyncType.DATA_LABELS)
    labels.last_status = AuditStatus.FAILED.value
    world.rt.schedules.save(labels)
    member = world.members("Newsletter")[0]

    world.edit_contact(member["contactid"], jobtitle="Blocked")
    world.process()

    [run] = _webhook_runs(world)
    assert (run.status, run.message) == (AuditStatus.FAILED, Messages.DATA_LABELS_FAILED)
    assert take_queued(world.rt) == []  # no second run chasing the same targets
    world.clock.advance(minutes=2)
    assert Scheduler(world.rt).tick().webhook_runs == 0
    assert len(world.rt.webhook_targets.pending("acme", OUT)) == 1  # for the next good run


def test_a_suppression_record_starts_the_suppression_sync(world: WebhookWorld) -> None:
    admin.set_schedule(world.rt, "acme", SyncType.SUPPRESSION_LISTS, EVERY_5)
    world.rt.registry = catalogue()
    suppression = "0b3f6f3c-2f7a-4a7e-9b0e-000000000001"

    outcome = world.post(
        world.event(
            "Create",
            "dms_emailsuppression",
            suppression,
            {"dms_email": "someone@example.com", "dms_emailaccountid": "acme"},
        )
    )

    assert outcome is RecordOutcome.RECORDED
    assert [(r.sync_type, r.trigger.value) for r in take_queued(world.rt)] == [
        (SyncType.SUPPRESSION_LISTS, "Webhook")
    ]


def test_an_enrolment_request_starts_its_accounts_program_enrolments(world: WebhookWorld) -> None:
    admin.set_schedule(world.rt, "acme", SyncType.PROGRAM_ENROLMENTS, EVERY_5)
    world.rt.registry = catalogue()
    request = "0b3f6f3c-2f7a-4a7e-9b0e-000000000002"

    outcome = world.post(
        world.event("Create", "dms_programenrolment", request,
                    {"dms_programid": 9001, "dms_emailaccountid": "acme", "dms_status": 1})
    )  # fmt: skip

    assert outcome is RecordOutcome.RECORDED
    assert [(r.sync_type, r.trigger.value) for r in take_queued(world.rt)] == [
        (SyncType.PROGRAM_ENROLMENTS, "Webhook")
    ]


def test_targets_of_an_account_that_was_removed_are_dropped(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    event = world.event("Update", "contact", member["contactid"], {"jobtitle": "Ghost"})
    target = Target(OUT, TargetKind.MEMBER, "contact", member["contactid"])
    world.rt.webhook_targets.note("ghost", target, event, world.clock())

    world.clock.advance(minutes=5)
    assert webhook_events.sweep(world.rt, world.clock()) == 0

    assert world.rt.webhook_targets.pending_pairs() == {}


def test_an_oversized_post_is_read_back_from_dynamics(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    world.dv.state.update("contact", member["contactid"], {"jobtitle": "Big payload"})
    # Over 256 KB Dataverse drops InputParameters and the images: no columns to look at.
    event = world.event("Update", "contact", member["contactid"]).model_copy(
        update={"size_exceeded": True}
    )

    assert world.post(event) is RecordOutcome.RECORDED
    world.process()

    assert world.book("Newsletter")[member["emailaddress1"]]["JOBROLE"] == "Big payload"


def test_a_deleted_contact_leaves_its_address_book(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    world.dv.state.delete("contact", member["contactid"])

    assert world.post(world.event("Delete", "contact", member["contactid"])) is (
        RecordOutcome.RECORDED
    )
    world.process()

    assert member["emailaddress1"] not in world.book("Newsletter")


# The run saves 7 checkpoints (plan, the list's pages and import round, the list done): each.
@pytest.mark.parametrize("die_at", range(1, 8))
def test_a_webhook_run_killed_at_a_checkpoint_ends_like_an_unkilled_one(
    world: WebhookWorld, monkeypatch: pytest.MonkeyPatch, die_at: int
) -> None:
    members = world.members("Newsletter")[:20]
    for n, member in enumerate(members):
        world.edit_contact(member["contactid"], jobtitle=f"Role {n}")
    die_at_save(monkeypatch, world.rt, die_at)

    world.clock.advance(seconds=10)
    with pytest.raises(Killed):
        while world.host.process_once():
            pass
    world.clock.advance(seconds=world.rt.settings.run_lease_seconds + 5)
    deadline = time.monotonic() + 40
    while world.rt.schedules.get("acme", OUT).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "nobody finished the run"
        if not world.host.process_once():
            time.sleep(0.2)

    book = world.book("Newsletter")
    assert [book[m["emailaddress1"]]["JOBROLE"] for m in members] == [
        f"Role {n}" for n in range(20)
    ]
    [run] = _webhook_runs(world)
    assert run.status is AuditStatus.COMPLETED, run.message
    [detail] = world.rt.audit.details("acme", run.row_key)
    assert (detail.counts.updated, detail.counts.created, detail.counts.failed) == (20, 0, 0)
    assert world.rt.webhook_targets.pending_pairs() == {}


def test_a_webhook_run_is_the_two_way_run_with_its_data_in_first(world: WebhookWorld) -> None:
    world.rt.registry = catalogue()  # the product's MarketingListsDataOut schedule: two-way
    member = world.members("Newsletter")[0]

    world.edit_contact(member["contactid"], jobtitle="Both ways")
    world.process()

    assert world.book("Newsletter")[member["emailaddress1"]]["JOBROLE"] == "Both ways"
    [run] = _webhook_runs(world)
    assert run.status is AuditStatus.COMPLETED, run.message
    data_in = world.rt.audit.recent("acme", sync_type=SyncType.MARKETING_LISTS_DATA_IN, limit=1)
    assert [(r.trigger, r.run_id) for r in data_in] == [("Webhook", run.run_id)]
