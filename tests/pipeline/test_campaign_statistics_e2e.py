"""CampaignStatistics through the pipeline (timer -> Azurite queue -> worker) against both
sandboxes: platform campaigns become email campaign records, and at the Detailed level their
send summaries, clicks, social bookmarks, ROI details and page views become records linked to
the contact, lead or account with the email."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_campaign_behaviour import CAMPAIGN_CLICKS_SINCE
from sandbox.dotdigital.campaign_behaviour import BehaviourSpec, click, send_generated
from sandbox.dotdigital.campaigns import CampaignRecord
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import CampaignSyncLevel, EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.campaigns import sync_type as sync_type_module
from shared.sync.campaigns.rows import campaign_row_id
from shared.sync.campaigns.sync_type import CampaignStatistics, campaign_watermark_key
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

STATS = SyncType.CAMPAIGN_STATISTICS
BEHAVIOUR = ("dms_emailsendsummary", "dms_emailclick", "dms_socialbookmark",
             "dms_emailroidetail", "dms_webpageview")  # fmt: skip
SPEC = BehaviourSpec(recipients=40, open_rate=0.5, click_rate=0.25, page_view_rate=0.4,
                     roi_rate=0.4, bookmark_rate=0.1, name="Autumn sale")  # fmt: skip


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def detailed(sync_runtime: Runtime, acme: EmailAccount, clock: ManualClock,
             sandbox_clock: SandboxClock) -> EmailAccount:  # fmt: skip
    """Acme at the Detailed level, the product's clock on the sandboxes' time."""
    clock.now = datetime.fromtimestamp(sandbox_clock.now(), UTC)
    account = acme.model_copy(update={"campaign_sync_level": CampaignSyncLevel.DETAILED})
    sync_runtime.accounts.save(account)
    return account


def _people(dv: DataverseState) -> dict[str, str]:
    """recipient.0-9 are contacts, 10 a lead, 11 an account; the rest are not in Dynamics."""
    people = {
        f"recipient.{n}@example.com": dv.insert(
            "contact", {"emailaddress1": f"recipient.{n}@example.com", "lastname": f"R{n}"}
        )
        for n in range(10)
    }
    people["recipient.10@example.com"] = dv.insert(
        "lead", {"emailaddress1": "recipient.10@example.com", "lastname": "Lead"}
    )
    people["recipient.11@example.com"] = dv.insert(
        "account", {"emailaddress1": "recipient.11@example.com", "name": "Acme Ltd"}
    )
    return people  # fmt: skip


def _rows(dv: DataverseState, table: str) -> list[dict[str, Any]]:
    rows = [dv.row(table, row_id) for row_id in dv.table(table).rows]
    return [r for r in rows if r is not None]


def _sizes(dv: DataverseState) -> dict[str, int]:
    return {table: len(dv.table(table).rows) for table in ("dms_emailcampaign", *BEHAVIOUR)}


def _details(rt: Runtime, audit: AuditRecord, account: str = "acme") -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details(account, audit.row_key)}


def _expected(campaign: CampaignRecord) -> dict[str, int]:
    return {
        "dms_emailcampaign": 2,
        "dms_emailsendsummary": len(campaign.activities),
        "dms_emailclick": len(campaign.clicks),
        "dms_socialbookmark": len(campaign.bookmarks),
        "dms_emailroidetail": len(campaign.roi_details),
        "dms_webpageview": len(campaign.page_views),
    }


def test_a_detailed_run_writes_campaigns_and_behaviour_and_the_next_reads_only_new_activity(
    sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    people = _people(dv)
    campaign = send_generated(dd, SPEC)
    dd.add_campaign("Winter draft")  # unsent: a record, no behaviour

    audit = run_scheduled(sync_runtime, host, clock, "acme", STATS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert _sizes(dv) == _expected(campaign)
    assert (len(campaign.clicks), len(campaign.roi_details), len(campaign.bookmarks)) == (10, 4, 2)
    record = dv.row("dms_emailcampaign", campaign_row_id("acme", campaign.id))
    assert record is not None
    assert (record["dms_name"], record["dms_platformid"]) == ("Autumn sale", campaign.id)
    assert record["dms_emailaccountid"] == "acme" and record["dms_status"] == "Sent"
    assert (record["dms_numsent"], record["dms_numuniqueopens"]) == (40, 20)
    summaries = {r["dms_email"]: r for r in _rows(dv, "dms_emailsendsummary")}
    assert summaries["recipient.0@example.com"]["_dms_contactid_value"] == people[
        "recipient.0@example.com"]  # fmt: skip
    assert summaries["recipient.10@example.com"]["_dms_leadid_value"] == people[
        "recipient.10@example.com"]  # fmt: skip
    assert summaries["recipient.11@example.com"]["_dms_accountid_value"] == people[
        "recipient.11@example.com"]  # fmt: skip
    stranger = summaries["recipient.30@example.com"]  # nobody in Dynamics: the email is kept
    assert stranger["_dms_contactid_value"] is None and stranger["_dms_leadid_value"] is None
    assert {r["_dms_emailcampaignid_value"] for r in summaries.values()} == {record[
        "dms_emailcampaignid"]}  # fmt: skip
    assert {r["dms_source"] for r in _rows(dv, "dms_webpageview")} == {1}
    detail = _details(sync_runtime, audit)["Autumn sale"]
    assert detail.message == (
        "40 send summaries, 10 clicks, 2 social bookmarks, 4 ROI details, 8 page views"
    )
    assert audit.message == (
        "2 email campaigns created, 1 updated: 40 send summaries, 10 clicks, "
        "2 social bookmarks, 4 ROI details, 8 page views"
    )
    assert "Winter draft" in _details(sync_runtime, audit)

    # One new click: the next run reads it and its reader's summary, and nothing else again
    # (social bookmarks have no since-date read: their 2 rows are read and written again).
    clock.advance(minutes=5)
    reader = campaign.activities[next(iter(campaign.activities))]
    click(campaign, reader.contact_id, reader.email, "https://shop.example.com/late",
          clock.now.timestamp() - 120)  # fmt: skip
    again = run_scheduled(sync_runtime, host, clock, "acme", STATS)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert _sizes(dv)["dms_emailclick"] == 11
    assert _details(sync_runtime, again)["Autumn sale"].message == (
        "1 send summaries, 1 clicks, 2 social bookmarks, 0 ROI details, 0 page views"
    )
    assert sync_runtime.state.get_value("acme", campaign_watermark_key(campaign.id)) == (
        again.started.isoformat()
    )

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "acme", STATS)
    assert quiet.status is AuditStatus.COMPLETED and quiet.message == Messages.NO_NEW_OBJECTS


def test_at_the_summary_level_only_campaign_records_are_written_with_their_totals(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, sandbox_clock: SandboxClock,
) -> None:  # fmt: skip
    clock.now = datetime.fromtimestamp(sandbox_clock.now(), UTC)
    _people(dv)
    campaign = send_generated(dd, SPEC)

    audit = run_scheduled(sync_runtime, host, clock, "acme", STATS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert _sizes(dv) == dict.fromkeys(("dms_emailcampaign", *BEHAVIOUR), 0) | {
        "dms_emailcampaign": 1}  # fmt: skip
    record = dv.row("dms_emailcampaign", campaign_row_id("acme", campaign.id))
    assert record is not None and record["dms_numuniqueclicks"] == 10
    assert audit.message == "1 email campaigns created, 1 updated"
    detail = _details(sync_runtime, audit)["Autumn sale"]
    assert (detail.status, detail.message) == (AuditStatus.COMPLETED,
                                               "Email campaign totals updated")  # fmt: skip


def test_a_dataset_that_cannot_be_read_is_named_alone_and_read_again_by_the_next_run(
    sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    campaign = send_generated(dd, SPEC)
    dd.faults.fail_route(CAMPAIGN_CLICKS_SINCE, 503)

    audit = run_scheduled(sync_runtime, host, clock, "acme", STATS)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    detail = _details(sync_runtime, audit)["Autumn sale"]
    assert detail.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert detail.message.startswith(
        "EmailClicks have failed to sync for this Email Campaign. 40 send summaries, 0 clicks, "
    ), detail.message
    sizes = _sizes(dv)
    assert sizes["dms_emailclick"] == 0 and sizes["dms_webpageview"] == 8  # the others went on
    assert sync_runtime.state.get_value("acme", campaign_watermark_key(campaign.id)) is None

    dd.faults.clear_routes()
    clock.advance(minutes=5)
    again = run_scheduled(sync_runtime, host, clock, "acme", STATS)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert _sizes(dv) == _expected(campaign) | {"dms_emailcampaign": 1}


def test_a_campaign_whose_record_cannot_be_written_is_aborted_and_the_others_go_on(
    sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    good = send_generated(dd, SPEC)
    broken = send_generated(dd, BehaviourSpec(recipients=5, name="Broken", seed=3))
    real = sync_type_module.rows.campaign_body

    def refused_for_broken(account_id: str, campaign: Any, now: datetime) -> dict[str, Any]:
        body = real(account_id, campaign, now)
        if campaign.name == "Broken":  # a column the table does not have: Dataverse says 400
            body["dms_nosuchcolumn"] = 1
        return body

    monkeypatch.setattr(sync_type_module.rows, "campaign_body", refused_for_broken)
    audit = run_scheduled(sync_runtime, host, clock, "acme", STATS)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    details = _details(sync_runtime, audit)
    assert details["Broken"].status is AuditStatus.FAILED
    assert details["Broken"].message.startswith(Messages.CAMPAIGN_NULL)
    assert details["Autumn sale"].status is AuditStatus.COMPLETED
    assert _sizes(dv) == _expected(good) | {"dms_emailcampaign": 1}
    assert dv.row("dms_emailcampaign", campaign_row_id("acme", broken.id)) is None


def test_a_redelivered_message_does_nothing_and_a_rerun_writes_the_same_rows(
    sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    campaign = send_generated(dd, SPEC)
    admin.set_schedule(sync_runtime, "acme", STATS, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", STATS).accepted
    [message] = take_queued(sync_runtime)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT
    assert _sizes(dv) == _expected(campaign) | {"dms_emailcampaign": 1}

    # Every watermark lost (restored state): everything is read again, no row twice.
    for key in ("CampaignStatistics-Watermark", campaign_watermark_key(campaign.id)):
        sync_runtime.state.set_value("acme", key, "", clock.now)
    clock.advance(minutes=5)
    again = run_scheduled(sync_runtime, host, clock, "acme", STATS)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert _sizes(dv) == _expected(campaign) | {"dms_emailcampaign": 1}


def test_a_429_storm_is_waited_out_and_ends_as_a_quiet_run_would(
    sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(CampaignStatistics(page_size=5))
    campaign = send_generated(dd, SPEC)
    dd.faults.set_throttle(0.4)

    audit = run_scheduled(sync_runtime, host, clock, "acme", STATS)

    assert dd.faults.injected["429"] >= 5
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert _sizes(dv) == _expected(campaign) | {"dms_emailcampaign": 1}
    assert audit.counts.failed == 0


def _end_state(rt: Runtime, dv: DataverseState, audit: AuditRecord, account: str) -> Any:
    """What a run left: its audit (status, counts, details) and the account's rows, without
    ids and the account's name (a second account holds the same behaviour)."""
    skip = {"dms_emailaccountid", "dms_lastsyncedon", "createdon", "modifiedon", "versionnumber"}
    rows = {}
    for table in ("dms_emailcampaign", *BEHAVIOUR):
        mine = [r for r in _rows(dv, table) if r["dms_emailaccountid"] == account]
        rows[table] = sorted(
            repr(sorted((k, v) for k, v in r.items()
                        if k not in skip and not k.endswith("id") and "@" not in k
                        and not k.startswith("_dms_emailcampaignid")))
            for r in mine
        )  # fmt: skip
    details = sorted((d.item, d.status, d.message, d.counts.model_dump())
                     for d in rt.audit.details(account, audit.row_key))  # fmt: skip
    return audit.status, audit.message, audit.counts, details, rows


@pytest.mark.parametrize("die_at", [2, 4, 9, 15, 22, 27])
def test_a_run_killed_at_a_checkpoint_and_redelivered_ends_like_an_uninterrupted_one(
    die_at: int, sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost,
    clock: ManualClock, dv: DataverseState, dd: DotdigitalState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(CampaignStatistics(page_size=10, list_page=1))
    _people(dv)
    send_generated(dd, SPEC)
    send_generated(dd, BehaviourSpec(recipients=9, click_rate=0.3, name="Flash", seed=2))
    dd.add_campaign("Winter draft")
    twin = detailed.model_copy(update={"account_id": "acme2"})
    sync_runtime.accounts.save(twin)
    baseline = run_scheduled(sync_runtime, host, clock, "acme2", STATS)
    assert baseline.status is AuditStatus.COMPLETED, baseline.message

    saves: list[int] = []
    die_at_save(monkeypatch, sync_runtime, die_at, on_save=saves.append)
    assert run_until_killed(sync_runtime, host, clock, "acme", STATS), "the worker never died"
    audit = finish_after_lease(sync_runtime, host, clock, "acme", STATS)

    assert _end_state(sync_runtime, dv, audit, "acme") == _end_state(
        sync_runtime, dv, baseline, "acme2")  # fmt: skip
    assert len(saves) > die_at, len(saves)  # the death was mid-run: checkpoints came after it


def test_a_dry_run_names_what_it_would_write_and_writes_nothing(
    sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    campaign = send_generated(dd, SPEC)
    admin.set_schedule(sync_runtime, "acme", STATS, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", STATS, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=STATS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert set(_sizes(dv).values()) == {0}
    for key in ("CampaignStatistics-Watermark", campaign_watermark_key(campaign.id)):
        assert sync_runtime.state.get_value("acme", key) is None
    would = _details(sync_runtime, audit)
    assert would["Would PATCH dms_emailclicks (Dynamics)"].counts.read == 10
    assert would["Would PATCH dms_emailsendsummarys (Dynamics)"].counts.read == 40


def test_write_batches_whose_answers_were_lost_are_resent_and_each_row_counted_once(
    sync_runtime: Runtime, detailed: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(CampaignStatistics(page_size=10))
    campaign = send_generated(dd, SPEC)
    for _ in range(3):  # the 5th, 10th and 15th Web API answers lost after the work was done
        dv.faults.slow_next(0.0, count=4)
        dv.faults.lose_response_next()

    audit = run_scheduled(sync_runtime, host, clock, "acme", STATS)

    assert dv.faults.injected["lose"] == 3
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert _sizes(dv) == _expected(campaign) | {"dms_emailcampaign": 1}
    rows = len(campaign.activities) + len(campaign.clicks) + len(campaign.bookmarks)
    rows += len(campaign.roi_details) + len(campaign.page_views)
    assert (audit.counts.created, audit.counts.updated, audit.counts.failed) == (1, rows + 1, 0)
