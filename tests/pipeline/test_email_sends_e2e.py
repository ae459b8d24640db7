"""Email sends from Dynamics through the pipeline (timer or webhook -> Azurite queue -> worker)
against both sandboxes: a CRM user's Email Send row syncs its marketing list, sends the campaign
to the list's address book once, and records the outcome; refusals never send; a redelivered
message, a killed worker and a lost answer never send twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.dotdigital.api_campaign_sends import sends_to
from sandbox.dotdigital.campaigns import SendRecord
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.clients.dataverse.transport import API_PATH
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.webhook_events import RecordOutcome
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.email_sends.rows import SendStatus
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import TEST_MAX_RETRIES, DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import Killed, finish_after_lease, run_until_killed
from tests.pipeline.webhook_world import WebhookWorld, build_world

SENDS = SyncType.EMAIL_SENDS
SEND_PATH = "/v2/campaigns/send"


@dataclass
class World:
    w: WebhookWorld
    campaign_id: int  # the platform's
    campaign_row: str  # the Dynamics dms_emailcampaign row

    @property
    def rt(self) -> Runtime:
        return self.w.rt

    def request(self, list_id: str | None, *, campaign_row: str | None = "",
                account: str = "acme", name: str = "Spring sale send") -> str:  # fmt: skip
        """A CRM user creates an Email Send row: status Requested."""
        values: dict[str, Any] = {"dms_name": name, "dms_emailaccountid": account,
                                  "dms_status": int(SendStatus.REQUESTED)}  # fmt: skip
        campaign = self.campaign_row if campaign_row == "" else campaign_row
        if campaign:
            values["dms_emailcampaignid@odata.bind"] = f"/dms_emailcampaigns({campaign})"
        if list_id:
            values["dms_listid@odata.bind"] = f"/lists({list_id})"
        return self.w.dv.state.insert("dms_emailsend", values)

    def row(self, send_id: str) -> dict[str, Any]:
        row = self.w.dv.state.row("dms_emailsend", send_id)
        assert row is not None
        return row

    def run(self) -> AuditRecord:
        return run_scheduled(self.rt, self.w.host, self.w.clock, "acme", SENDS)

    def details(self, audit: AuditRecord) -> dict[str, AuditDetail]:
        return {d.item: d for d in self.rt.audit.details("acme", audit.row_key)}

    def book_id(self, name: str) -> int:
        book = self.w.dd.state.store.book_named(name)
        assert book is not None, name
        return book.id

    def platform_sends(self) -> list[SendRecord]:
        return list(self.w.dd.state.sends)

    def new_list(self, name: str, *, account: str = "acme", activated: bool = True) -> str:
        state = self.w.dv.state
        list_id = state.insert("list", {"listname": name, "createdfromcode": 2})
        state.update("list", list_id, {"dms_emailaccountid": account,
                                       "dms_emailactivated": activated,
                                       "dms_membershipaction": 1})  # fmt: skip
        return list_id


@pytest.fixture
def world(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox, dotdigital_sandbox: DotdigitalSandbox,
) -> World:  # fmt: skip
    w = build_world(sync_runtime, host, clock, dataverse_sandbox, dotdigital_sandbox)
    w.activate("Newsletter")
    campaign = dotdigital_sandbox.state.add_campaign("Spring sale")
    row = dataverse_sandbox.state.insert(
        "dms_emailcampaign",
        {"dms_name": "Spring sale", "dms_platformid": campaign.id, "dms_emailaccountid": "acme"},
    )
    return World(w, campaign.id, row)


def _assert_sent_once(world: World, send_id: str) -> None:
    book = world.book_id("Newsletter")
    assert sends_to(world.w.dd.state, world.campaign_id, book) == 1
    assert all(s.address_book_ids == [book] for s in world.platform_sends())
    row = world.row(send_id)
    assert row["dms_status"] == SendStatus.SENT, row["dms_message"]
    assert row["dms_senton"] is not None


def test_a_send_syncs_its_list_then_sends_the_campaign_to_the_lists_book_once(
    world: World,
) -> None:
    send_id = world.request(world.w.lists["Newsletter"])

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.message == "1 email send: 1 sent, 0 refused, 0 failed"
    # The list was synced first: its book holds its members, and that book got the campaign.
    members = {m["emailaddress1"] for m in world.w.members("Newsletter")}
    assert set(world.w.book("Newsletter")) == members
    [send] = world.platform_sends()
    assert send.address_book_ids == [world.book_id("Newsletter")]
    assert len(send.recipients) == len(members)
    _assert_sent_once(world, send_id)
    row = world.row(send_id)
    assert row["dms_platformsendid"] == send.id
    assert row["dms_message"] == f"Sent to address book 'Newsletter' ({len(members)} contacts)"
    details = world.details(audit)
    assert details["Spring sale -> Newsletter"].status is AuditStatus.COMPLETED
    assert details["Newsletter"].counts.created == len(members)  # the list's own sync

    world.w.clock.advance(minutes=5)
    quiet = world.run()
    assert quiet.message == Messages.NO_NEW_OBJECTS
    assert len(world.platform_sends()) == 1


def test_every_refusal_is_recorded_on_its_row_and_nothing_is_sent(world: World) -> None:
    state = world.w.dv.state
    gone = world.new_list("Deleted list")
    no_platform_id = state.insert("dms_emailcampaign",
                                  {"dms_name": "Draft", "dms_emailaccountid": "acme"})  # fmt: skip
    other_campaign = state.insert(
        "dms_emailcampaign",
        {"dms_name": "Globex news", "dms_platformid": world.campaign_id,
         "dms_emailaccountid": "globex"},
    )  # fmt: skip
    newsletter = world.w.lists["Newsletter"]
    requests = {
        "no list": world.request(None),
        "deleted list": world.request(gone),  # deleted below, after the request
        "other account's list": world.request(world.new_list("Globex list", account="globex")),
        "not email-activated": world.request(world.w.lists["Prospects"]),
        "empty list": world.request(world.new_list("Nobody yet")),
        "no campaign": world.request(newsletter, campaign_row=None),
        "no platform id": world.request(newsletter, campaign_row=no_platform_id),
        "other account's campaign": world.request(newsletter, campaign_row=other_campaign),
    }
    state.delete("list", gone)

    audit = world.run()

    assert audit.status is AuditStatus.FAILED
    assert audit.message == "8 email sends: 0 sent, 8 refused, 0 failed"
    assert world.platform_sends() == []  # above all, never a send to all contacts
    rows = {why: world.row(send_id) for why, send_id in requests.items()}
    assert {why: r["dms_status"] for why, r in rows.items()} == dict.fromkeys(
        requests, SendStatus.REFUSED
    )
    messages = {why: r["dms_message"] for why, r in rows.items()}
    assert messages["no list"].startswith(Messages.LIST_NULL)
    assert messages["deleted list"].startswith(Messages.LIST_NULL)
    assert messages["other account's list"].startswith(Messages.LIST_ACCOUNT_MISMATCH)
    assert "is not email-activated: set its Email Activated" in messages["not email-activated"]
    assert "'Nobody yet' is empty after the list's sync" in messages["empty list"]
    assert "names no email campaign" in messages["no campaign"]
    assert "'Draft' has no platform id" in messages["no platform id"]
    assert "belongs to email account 'globex'" in messages["other account's campaign"]
    assert all("set its Status back to Requested" in m for m in messages.values())
    details = world.details(audit)
    assert details["Spring sale -> (no marketing list)"].message == Messages.LIST_NULL
    assert details["Spring sale -> Globex list"].message == Messages.LIST_ACCOUNT_MISMATCH
    assert details["Spring sale -> Nobody yet"].status is AuditStatus.FAILED
    assert details["(no campaign) -> Newsletter"].status is AuditStatus.FAILED


def test_a_list_whose_book_cannot_be_made_is_refused_without_sending(world: World) -> None:
    send_id = world.request(world.w.lists["Newsletter"])
    world.w.dd.state.faults.fail_next(503, 20, path="/v2/address-books")

    audit = world.run()

    row = world.row(send_id)
    assert row["dms_status"] == SendStatus.REFUSED
    assert row["dms_message"].startswith("The marketing list 'Newsletter' has no address book")
    assert world.platform_sends() == []
    assert audit.status is AuditStatus.FAILED


def test_a_redelivered_message_sends_nothing_again(world: World) -> None:
    send_id = world.request(world.w.lists["Newsletter"])
    rt = world.rt
    admin.set_schedule(rt, "acme", SENDS, EVERY_5)
    assert admin.sync_now(rt, "acme", SENDS).accepted
    [message] = take_queued(rt)

    assert Worker(rt).handle(message.to_json()) is Outcome.FINISHED
    assert Worker(rt).handle(message.to_json()) is Outcome.NOT_CURRENT

    _assert_sent_once(world, send_id)
    [audit] = rt.audit.recent("acme", sync_type=SENDS)
    assert audit.counts.updated == 1


def _die_after_the_send(monkeypatch: pytest.MonkeyPatch, world: World, saves_after: int) -> None:
    """The worker dies at the `saves_after`-th checkpoint once the campaign was sent."""
    state = world.rt.state
    real_save = state.save_checkpoint
    seen = 0

    def save_checkpoint(*args: Any, **kwargs: Any) -> None:
        nonlocal seen
        if world.platform_sends():
            seen += 1
            if seen == saves_after:
                raise Killed
        real_save(*args, **kwargs)

    monkeypatch.setattr(state, "save_checkpoint", save_checkpoint)


@pytest.mark.parametrize(
    "saves_after",
    [1, 2],
    ids=["before-the-answer-is-saved", "after-the-record-before-its-checkpoint"],
)
def test_a_worker_killed_between_the_send_and_its_record_sends_once_and_ends_sent(
    world: World, monkeypatch: pytest.MonkeyPatch, saves_after: int
) -> None:
    send_id = world.request(world.w.lists["Newsletter"])
    _die_after_the_send(monkeypatch, world, saves_after)
    w = world.w

    assert run_until_killed(world.rt, w.host, w.clock, "acme", SENDS), "the worker never died"
    assert len(world.platform_sends()) == 1
    audit = finish_after_lease(world.rt, w.host, w.clock, "acme", SENDS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    _assert_sent_once(world, send_id)
    assert audit.message == "1 email send: 1 sent, 0 refused, 0 failed"
    assert audit.counts.updated == 1
    assert world.details(audit)["Spring sale -> Newsletter"].status is AuditStatus.COMPLETED


def test_a_lost_answer_is_asked_about_not_resent(world: World) -> None:
    send_id = world.request(world.w.lists["Newsletter"])
    world.w.dd.state.faults.lose_response_next(path=SEND_PATH)

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    _assert_sent_once(world, send_id)
    assert "its send id was not received" in world.row(send_id)["dms_message"]


def test_a_lost_answer_to_a_repeat_send_ends_failed_never_sent_a_third_time(
    world: World,
) -> None:
    newsletter = world.w.lists["Newsletter"]
    first = world.request(newsletter)
    assert world.run().status is AuditStatus.COMPLETED
    again = world.request(newsletter, name="Spring sale again")
    world.w.dd.state.faults.lose_response_next(path=SEND_PATH)

    world.w.clock.advance(minutes=5)
    audit = world.run()

    book = world.book_id("Newsletter")
    assert sends_to(world.w.dd.state, world.campaign_id, book) == 2  # the lost one was made
    assert world.row(first)["dms_status"] == SendStatus.SENT
    row = world.row(again)
    assert row["dms_status"] == SendStatus.FAILED
    assert "check the campaign's sends in Dotdigital" in row["dms_message"]
    assert audit.status is AuditStatus.FAILED
    world.w.clock.advance(minutes=5)
    assert world.run().message == Messages.NO_NEW_OBJECTS
    assert sends_to(world.w.dd.state, world.campaign_id, book) == 2


def test_a_new_email_send_row_starts_a_webhook_run_that_sends_it(world: World) -> None:
    admin.set_schedule(world.rt, "acme", SENDS, EVERY_5)
    send_id = world.request(world.w.lists["Newsletter"])
    w = world.w
    event = w.event("Create", "dms_emailsend", send_id,
                    {"dms_emailsendid": send_id, "dms_emailaccountid": "acme"})  # fmt: skip

    assert w.post(event) is RecordOutcome.RECORDED
    w.process()

    [run] = w.runs(SENDS)
    assert run.trigger == "Webhook" and run.status is AuditStatus.COMPLETED, run.message
    _assert_sent_once(world, send_id)
    assert world.rt.webhook_targets.pending("acme", SENDS) == []


def test_a_dry_run_sends_nothing_and_leaves_the_row_requested(world: World) -> None:
    send_id = world.request(world.w.lists["Newsletter"])

    assert admin.sync_now(world.rt, "acme", SENDS, dry_run=True).accepted
    world.w.host.drain()

    [audit] = world.rt.audit.recent("acme", sync_type=SENDS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert world.platform_sends() == []
    assert world.row(send_id)["dms_status"] == SendStatus.REQUESTED
    assert "Would send campaigns (Dotdigital)" in world.details(audit)


def test_a_record_that_fails_after_the_send_is_retried_from_the_saved_answer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    send_id = world.request(world.w.lists["Newsletter"])
    state = world.rt.state
    real_save = state.save_checkpoint
    armed: list[bool] = []

    def save_checkpoint(*args: Any, **kwargs: Any) -> None:
        real_save(*args, **kwargs)
        if world.platform_sends() and not armed:  # the answer is saved: Dynamics goes down
            armed.append(True)
            world.w.dv.state.faults.fail_next(
                503, TEST_MAX_RETRIES + 1, path=f"{API_PATH}/dms_emailsends({send_id})"
            )

    monkeypatch.setattr(state, "save_checkpoint", save_checkpoint)
    rt = world.rt
    rt.settings = rt.settings.model_copy(update={"run_retry_delay_seconds": 0.0})
    w = world.w

    world.run()

    [audit] = world.rt.audit.recent("acme", sync_type=SENDS)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    _assert_sent_once(world, send_id)
    # The retry had the send id: it read the send's status, and never asked about books again.
    assert w.dd.state.counters.count("GET", "/v2/campaigns/send/{sendId}") == 1
    assert w.dd.state.counters.count("GET", "/v2/campaigns/{campaignId}/address-books") == 1
    [send] = world.platform_sends()
    assert world.row(send_id)["dms_platformsendid"] == send.id


def test_rows_an_earlier_run_left_sending_are_asked_about_before_any_send(world: World) -> None:
    newsletter = world.w.lists["Newsletter"]
    assert world.run().message == Messages.NO_NEW_OBJECTS
    first = world.request(newsletter)
    world.w.clock.advance(minutes=5)
    assert world.run().status is AuditStatus.COMPLETED
    book = world.book_id("Newsletter")
    summer = world.w.dd.state.add_campaign("Summer sale")
    summer_row = world.w.dv.state.insert(
        "dms_emailcampaign",
        {"dms_name": "Summer sale", "dms_platformid": summer.id, "dms_emailaccountid": "acme"},
    )
    # Two rows a run that failed left Sending (its checkpoint gone with it): one whose campaign
    # Dotdigital lists as sent to the book (maybe this send, maybe an earlier one), one not.
    unknown = world.request(newsletter, name="Spring sale, left Sending")
    never_made = world.request(newsletter, campaign_row=summer_row, name="Summer, left Sending")
    for send_id in (unknown, never_made):
        world.w.dv.state.update("dms_emailsend", send_id, {"dms_status": int(SendStatus.SENDING)})

    world.w.clock.advance(minutes=5)
    audit = world.run()

    assert audit.message == "2 email sends: 1 sent, 0 refused, 1 failed"
    assert world.row(first)["dms_status"] == SendStatus.SENT
    assert world.row(unknown)["dms_status"] == SendStatus.FAILED
    assert "cannot tell from Dotdigital" in world.row(unknown)["dms_message"]
    assert sends_to(world.w.dd.state, world.campaign_id, book) == 1  # not sent again
    assert world.row(never_made)["dms_status"] == SendStatus.SENT
    assert sends_to(world.w.dd.state, summer.id, book) == 1
