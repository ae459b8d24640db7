"""OptOut through the pipeline (timer -> Azurite queue -> worker) against the ACS and Dataverse
sandboxes: each mode, the bidirectional rule's asymmetry both ways, a redelivered message and a
killed run."""

from __future__ import annotations

import pytest

from sandbox.adobe import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditStatus, Messages
from shared.clients.adobe import AdobeCampaignClient
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.storage.adobe_config_model import OptOutMode
from shared.sync.adobe.opt_out_sync import DELTA_LINK_KEY, OptOut
from shared.sync.catalogue import catalogue
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed
from tests.pipeline.opt_out.world import (
    OPT_OUT,
    campaign_sets,
    contact_row,
    details_of,
    person,
    profile_of,
    set_mode,
)


def test_disabled_says_so_and_touches_neither_side(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    ada = person(dv, acs, "ada", donotbulkemail=True)
    before = profile_of(acs, ada)

    audit = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert audit.status is AuditStatus.COMPLETED
    assert audit.message.startswith("Opt-out sync is off for this account (mode Disabled)")
    assert "`adobe opt-out set`" in audit.message
    assert profile_of(acs, ada) == before and audit.counts.read == 0
    assert acs.counters.total() == 0


def test_dynamics_to_campaign_writes_profiles_and_leaves_campaign_changes_alone(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    ada = person(dv, acs, "ada", donotbulkemail=True, donotpostalmail=True)
    ben = person(dv, acs, "ben")
    cy = person(dv, acs, "cy", profile=False, donotfax=True)  # no profile yet

    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert first.status is AuditStatus.COMPLETED, first.message
    profile = profile_of(acs, ada)
    assert (profile["blackListEmail"], profile["blackListPostalMail"]) == (True, True)
    assert profile["ccpaOptOut"] is False and profile["blackListEmailLastModified"]
    assert profile_of(acs, ben)["blackListEmail"] is False
    assert (first.counts.read, first.counts.updated) == (3, 1)
    assert "1 without a counterpart" in first.message
    assert details_of(sync_runtime, first)["Dynamics -> Campaign"].counts.updated == 1
    assert sync_runtime.state.get_value("globex", DELTA_LINK_KEY)

    # Later: ben opts out in Dynamics, ada re-subscribes in Campaign, cy's profile arrives.
    clock.advance(minutes=5)
    dv.update("contact", ben, {"donotbulkemail": True})
    campaign_sets(adobe_client, ada, blackListEmail=False)
    acs.insert("profile", {"externalId": cy, "email": "cy@example.com"})
    clock.advance(minutes=5)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    assert profile_of(acs, ben)["blackListEmail"] is True  # the contact's change
    assert profile_of(acs, cy)["ccpaOptOut"] is True  # the new profile took the contact's
    assert profile_of(acs, ada)["blackListEmail"] is False  # Campaign's own change: left alone
    assert contact_row(dv, ada)["donotbulkemail"] is True  # and never written to Dynamics
    assert later.counts.updated == 2


def test_campaign_to_dynamics_writes_contacts_of_profiles_changed_since_the_last_run(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    ada = person(dv, acs, "ada")
    ben = person(dv, acs, "ben", donotbulkemail=True)  # Dynamics only: not Campaign's
    acs.insert("profile", {"externalId": "not-a-contact", "email": "x@example.com"})
    clock.advance(minutes=1)
    campaign_sets(adobe_client, ada, blackListEmail=True, ccpaOptOut=True)

    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert first.status is AuditStatus.COMPLETED, first.message
    row = contact_row(dv, ada)
    assert (row["donotbulkemail"], row["donotfax"], row["donotpostalmail"]) == (True, True, False)
    assert (
        contact_row(dv, ben)["donotbulkemail"] is True
        and profile_of(acs, ben)["blackListEmail"] is False
    )
    assert first.counts.updated == 1
    assert details_of(sync_runtime, first)["Campaign -> Dynamics"].counts.updated == 1

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert quiet.status is AuditStatus.COMPLETED and quiet.counts.updated == 0

    clock.advance(minutes=10)
    campaign_sets(adobe_client, ben, blackListPostalMail=True)
    clock.advance(minutes=1)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert contact_row(dv, ben)["donotpostalmail"] is True
    assert later.counts.read == 1 and later.counts.updated == 1  # only ben's profile read


def test_bidirectional_a_newer_campaign_opt_in_clears_a_dynamics_opt_out(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = person(dv, acs, "ada", donotbulkemail=True)
    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert profile_of(acs, ada)["blackListEmail"] is True and first.counts.updated == 1

    clock.advance(minutes=10)
    campaign_sets(adobe_client, ada, blackListEmail=False)  # ada re-subscribes in Campaign
    clock.advance(minutes=1)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    assert contact_row(dv, ada)["donotbulkemail"] is False  # Campaign newer: Campaign wins
    assert profile_of(acs, ada)["blackListEmail"] is False
    assert details_of(sync_runtime, later)["Campaign -> Dynamics"].counts.updated == 1


def test_bidirectional_a_newer_dynamics_opt_in_never_clears_a_campaign_opt_out(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = person(dv, acs, "ada")
    campaign_sets(adobe_client, ada, blackListEmail=True)  # unsubscribed in Campaign
    clock.advance(minutes=1)
    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert contact_row(dv, ada)["donotbulkemail"] is True and first.counts.updated == 1

    clock.advance(minutes=10)
    dv.update("contact", ada, {"donotbulkemail": False})  # a CRM user opts ada back in
    clock.advance(minutes=1)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    # Dynamics newer, but opted out wins while either side is: the contact is set back.
    assert contact_row(dv, ada)["donotbulkemail"] is True
    assert profile_of(acs, ada)["blackListEmail"] is True
    assert details_of(sync_runtime, later)["Campaign -> Dynamics"].counts.updated == 1


def test_bidirectional_a_newer_dynamics_opt_out_reaches_campaign(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = person(dv, acs, "ada")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=10)
    dv.update("contact", ada, {"donotpostalmail": True})
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert profile_of(acs, ada)["blackListPostalMail"] is True
    assert details_of(sync_runtime, later)["Dynamics -> Campaign"].counts.updated == 1


def test_a_redelivered_message_changes_nothing(
    sync_runtime: Runtime, globex: EmailAccount, dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = person(dv, acs, "ada", donotbulkemail=True)
    admin.set_schedule(sync_runtime, "globex", OPT_OUT, EVERY_5)
    assert admin.sync_now(sync_runtime, "globex", OPT_OUT).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    written = profile_of(acs, ada)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert profile_of(acs, ada) == written and written["blackListEmail"] is True
    [audit] = sync_runtime.audit.recent("globex", sync_type=OPT_OUT)
    assert audit.counts.updated == 1


def test_a_run_killed_after_writing_a_page_and_redelivered_ends_like_an_uninterrupted_one(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(OptOut(page_size=10))
    set_mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    people = {person(dv, acs, f"p{n:02d}", donotbulkemail=n % 3 == 0): n % 3 == 0
              for n in range(30)}  # fmt: skip
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    # The plan, then each page's intent and its end: page 2 is written, never saved.
    die_at_save(monkeypatch, sync_runtime, 5)
    assert run_until_killed(sync_runtime, host, clock, "globex", OPT_OUT), "never died"

    audit = finish_after_lease(sync_runtime, host, clock, "globex", OPT_OUT)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    for contact_id, opted_out in people.items():
        assert profile_of(acs, contact_id)["blackListEmail"] is opted_out
    # The replayed page found its writes made and counted them as its own, once.
    assert (audit.counts.read, audit.counts.updated, audit.counts.failed) == (30, 10, 0)


def test_a_quiet_bidirectional_run_says_nothing_new(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    person(dv, acs, "ada")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=10)
    quiet = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert quiet.status is AuditStatus.COMPLETED and quiet.message == Messages.NO_NEW_OBJECTS
