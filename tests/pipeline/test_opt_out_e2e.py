"""OptOut through the pipeline (timer -> Azurite queue -> worker) against the ACS and Dataverse
sandboxes: each mode, the bidirectional rule's asymmetry both ways, a redelivered message, a
killed run, and a Campaign without the custom filter the sync reads its changes through."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.adobe import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.clients.adobe import AdobeCampaignClient
from shared.clients.dataverse.client import DataverseClient
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.service import adobe_config
from shared.storage.adobe_config_model import CampaignOptOut, OptOutMode, OptOutPair
from shared.sync.adobe.opt_out_sync import DELTA_LINK_KEY, OptOut
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

OPT_OUT = SyncType.OPT_OUT
PAIRS = [
    OptOutPair(campaign_attribute=CampaignOptOut.EMAIL, dynamics_field="donotbulkemail"),
    OptOutPair(campaign_attribute=CampaignOptOut.POSTAL_MAIL, dynamics_field="donotpostalmail"),
    OptOutPair(campaign_attribute=CampaignOptOut.CCPA, dynamics_field="donotfax"),
]


@pytest.fixture
def dv(dataverse_sandbox: DataverseSandbox) -> DataverseState:
    return dataverse_sandbox.state


@pytest.fixture
def acs(adobe_sandbox: AdobeSandbox) -> AdobeState:
    return adobe_sandbox.state


@pytest.fixture(autouse=True)
def one_time(
    dataverse_sandbox: DataverseSandbox, adobe_sandbox: AdobeSandbox, clock: ManualClock
) -> Iterator[None]:
    """Dynamics, Campaign and the connector read one clock: the rule compares the first two,
    the watermark the last with Campaign's."""
    now = lambda: clock.now.timestamp()  # noqa: E731
    dataverse_sandbox.state.clock = now
    adobe_sandbox.state.clock = now
    yield


def _mode(rt: Runtime, mode: OptOutMode, pairs: list[OptOutPair] = PAIRS) -> None:
    change = adobe_config.OptOutChange(mode=mode, pairs=pairs)
    adobe_config.set_opt_out(rt, "globex", change)


def _person(
    dv: DataverseState, acs: AdobeState, name: str, *, profile: bool = True, **contact: Any
) -> str:
    """A contact and (as ingress made it) its profile keyed by externalId = contactid."""
    contact_id = dv.insert("contact", {"lastname": name, "emailaddress1": f"{name}@example.com",
                                       **contact})  # fmt: skip
    if profile:
        acs.insert("profile", {"externalId": contact_id, "email": f"{name}@example.com"})
    return contact_id


def _profile(acs: AdobeState, contact_id: str) -> dict[str, Any]:
    [found] = [p for p in acs.profiles() if p["externalId"] == contact_id]
    return found


def _campaign_sets(client: AdobeCampaignClient, contact_id: str, **values: bool) -> None:
    """A change made in Campaign (a person unsubscribing, an operator): through the API, so
    each attribute's *LastModified moves as Campaign moves it."""
    found = client.get_by_key("profile", contact_id)
    assert found is not None
    client.update(str(found["href"]), values)


def _contact(dv: DataverseState, contact_id: str) -> dict[str, Any]:
    row = dv.row("contact", contact_id)
    assert row is not None
    return row


def _details(rt: Runtime, audit: AuditRecord) -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details("globex", audit.row_key)}


def test_disabled_says_so_and_touches_neither_side(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    ada = _person(dv, acs, "ada", donotbulkemail=True)
    before = _profile(acs, ada)

    audit = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert audit.status is AuditStatus.COMPLETED
    assert audit.message.startswith("Opt-out sync is off for this account (mode Disabled)")
    assert "`adobe opt-out set`" in audit.message
    assert _profile(acs, ada) == before and audit.counts.read == 0
    assert acs.counters.total() == 0


def test_dynamics_to_campaign_writes_profiles_and_leaves_campaign_changes_alone(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    ada = _person(dv, acs, "ada", donotbulkemail=True, donotpostalmail=True)
    ben = _person(dv, acs, "ben")
    cy = _person(dv, acs, "cy", profile=False, donotfax=True)  # no profile yet

    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert first.status is AuditStatus.COMPLETED, first.message
    profile = _profile(acs, ada)
    assert (profile["blackListEmail"], profile["blackListPostalMail"]) == (True, True)
    assert profile["ccpaOptOut"] is False and profile["blackListEmailLastModified"]
    assert _profile(acs, ben)["blackListEmail"] is False
    assert (first.counts.read, first.counts.updated) == (3, 1)
    assert "1 without a counterpart" in first.message
    assert _details(sync_runtime, first)["Dynamics -> Campaign"].counts.updated == 1
    assert sync_runtime.state.get_value("globex", DELTA_LINK_KEY)

    # Later: ben opts out in Dynamics, ada re-subscribes in Campaign, cy's profile arrives.
    clock.advance(minutes=5)
    dv.update("contact", ben, {"donotbulkemail": True})
    _campaign_sets(adobe_client, ada, blackListEmail=False)
    acs.insert("profile", {"externalId": cy, "email": "cy@example.com"})
    clock.advance(minutes=5)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    assert _profile(acs, ben)["blackListEmail"] is True  # the contact's change
    assert _profile(acs, cy)["ccpaOptOut"] is True  # the new profile took the contact's
    assert _profile(acs, ada)["blackListEmail"] is False  # Campaign's own change: left alone
    assert _contact(dv, ada)["donotbulkemail"] is True  # and never written to Dynamics
    assert later.counts.updated == 2


def test_campaign_to_dynamics_writes_contacts_of_profiles_changed_since_the_last_run(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    ada = _person(dv, acs, "ada")
    ben = _person(dv, acs, "ben", donotbulkemail=True)  # Dynamics only: not Campaign's
    acs.insert("profile", {"externalId": "not-a-contact", "email": "x@example.com"})
    clock.advance(minutes=1)
    _campaign_sets(adobe_client, ada, blackListEmail=True, ccpaOptOut=True)

    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert first.status is AuditStatus.COMPLETED, first.message
    row = _contact(dv, ada)
    assert (row["donotbulkemail"], row["donotfax"], row["donotpostalmail"]) == (True, True, False)
    assert (
        _contact(dv, ben)["donotbulkemail"] is True
        and _profile(acs, ben)["blackListEmail"] is False
    )
    assert first.counts.updated == 1
    assert _details(sync_runtime, first)["Campaign -> Dynamics"].counts.updated == 1

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert quiet.status is AuditStatus.COMPLETED and quiet.counts.updated == 0

    clock.advance(minutes=10)
    _campaign_sets(adobe_client, ben, blackListPostalMail=True)
    clock.advance(minutes=1)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert _contact(dv, ben)["donotpostalmail"] is True
    assert later.counts.read == 1 and later.counts.updated == 1  # only ben's profile read


def test_bidirectional_a_newer_campaign_opt_in_clears_a_dynamics_opt_out(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = _person(dv, acs, "ada", donotbulkemail=True)
    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert _profile(acs, ada)["blackListEmail"] is True and first.counts.updated == 1

    clock.advance(minutes=10)
    _campaign_sets(adobe_client, ada, blackListEmail=False)  # ada re-subscribes in Campaign
    clock.advance(minutes=1)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    assert _contact(dv, ada)["donotbulkemail"] is False  # Campaign newer: Campaign wins
    assert _profile(acs, ada)["blackListEmail"] is False
    assert _details(sync_runtime, later)["Campaign -> Dynamics"].counts.updated == 1


def test_bidirectional_a_newer_dynamics_opt_in_never_clears_a_campaign_opt_out(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = _person(dv, acs, "ada")
    _campaign_sets(adobe_client, ada, blackListEmail=True)  # unsubscribed in Campaign
    clock.advance(minutes=1)
    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert _contact(dv, ada)["donotbulkemail"] is True and first.counts.updated == 1

    clock.advance(minutes=10)
    dv.update("contact", ada, {"donotbulkemail": False})  # a CRM user opts ada back in
    clock.advance(minutes=1)
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    # Dynamics newer, but opted out wins while either side is: the contact is set back.
    assert _contact(dv, ada)["donotbulkemail"] is True
    assert _profile(acs, ada)["blackListEmail"] is True
    assert _details(sync_runtime, later)["Campaign -> Dynamics"].counts.updated == 1


def test_bidirectional_a_newer_dynamics_opt_out_reaches_campaign(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = _person(dv, acs, "ada")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=10)
    dv.update("contact", ada, {"donotpostalmail": True})
    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert _profile(acs, ada)["blackListPostalMail"] is True
    assert _details(sync_runtime, later)["Dynamics -> Campaign"].counts.updated == 1


def test_a_redelivered_message_changes_nothing(
    sync_runtime: Runtime, globex: EmailAccount, dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = _person(dv, acs, "ada", donotbulkemail=True)
    admin.set_schedule(sync_runtime, "globex", OPT_OUT, EVERY_5)
    assert admin.sync_now(sync_runtime, "globex", OPT_OUT).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    written = _profile(acs, ada)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert _profile(acs, ada) == written and written["blackListEmail"] is True
    [audit] = sync_runtime.audit.recent("globex", sync_type=OPT_OUT)
    assert audit.counts.updated == 1


def test_a_run_killed_after_writing_a_page_and_redelivered_ends_like_an_uninterrupted_one(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(OptOut(page_size=10))
    _mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    people = {_person(dv, acs, f"p{n:02d}", donotbulkemail=n % 3 == 0): n % 3 == 0
              for n in range(30)}  # fmt: skip
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    # The plan, then each page's intent and its end: page 2 is written, never saved.
    die_at_save(monkeypatch, sync_runtime, 5)
    assert run_until_killed(sync_runtime, host, clock, "globex", OPT_OUT), "never died"

    audit = finish_after_lease(sync_runtime, host, clock, "globex", OPT_OUT)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    for contact_id, opted_out in people.items():
        assert _profile(acs, contact_id)["blackListEmail"] is opted_out
    # The replayed page found its writes made and counted them as its own, once.
    assert (audit.counts.read, audit.counts.updated, audit.counts.failed) == (30, 10, 0)


def test_without_the_custom_filter_in_campaign_the_run_fails_naming_it(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    acs.filters.clear()
    _person(dv, acs, "ada")

    audit = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert audit.status is AuditStatus.FAILED
    assert "no custom filter byOptOutChanged on the profile resource" in audit.message
    assert "Configuring an Adobe Campaign account" in audit.message


def test_a_quiet_bidirectional_run_says_nothing_new(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    _person(dv, acs, "ada")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=10)
    quiet = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert quiet.status is AuditStatus.COMPLETED and quiet.message == Messages.NO_NEW_OBJECTS


def test_a_record_that_keeps_failing_is_named_and_read_again_by_the_next_run(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    ada = _person(dv, acs, "ada", donotbulkemail=True)
    ben = _person(dv, acs, "ben", donotbulkemail=True)
    [row_id] = [i for i, r in acs.tables["profile"].rows.items() if r["externalId"] == ada]
    pkey = acs.pkey("profile", row_id)
    # Ada's PATCH meets a server error on every attempt the retry policy makes.
    acs.faults.fail_next(503, 5, path=f"/{acs.organization}/campaign/profileAndServicesExt/"
                                      f"profile/{pkey}")  # fmt: skip

    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert first.status is AuditStatus.COMPLETED_WITH_ERRORS, first.message
    assert (first.counts.updated, first.counts.failed) == (1, 1)
    failed = _details(sync_runtime, first)["Records that failed"]
    assert failed.message.startswith(f"{ada}: ") and ben not in failed.message
    assert _profile(acs, ada)["blackListEmail"] is False
    # Its change is read again: the delta link did not move past it.
    assert sync_runtime.state.get_value("globex", DELTA_LINK_KEY) is None

    clock.advance(minutes=10)
    again = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert _profile(acs, ada)["blackListEmail"] is True and again.counts.updated == 1


def test_a_dry_run_names_the_writes_and_makes_none(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, dv: DataverseState,
    acs: AdobeState, adobe_client: AdobeCampaignClient, clock: ManualClock,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = _person(dv, acs, "ada", donotbulkemail=True)
    ben = _person(dv, acs, "ben")
    _campaign_sets(adobe_client, ben, ccpaOptOut=True)
    clock.advance(minutes=1)
    before = (_profile(acs, ada), _contact(dv, ben))

    assert admin.sync_now(sync_runtime, "globex", OPT_OUT, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("globex", sync_type=OPT_OUT)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert (_profile(acs, ada), _contact(dv, ben)) == before
    assert sync_runtime.state.get_value("globex", DELTA_LINK_KEY) is None
    would = {item for item in _details(sync_runtime, audit) if item.startswith("Would")}
    assert any("Adobe Campaign" in item for item in would), would
    assert any("Dynamics" in item for item in would), would


def test_an_expired_delta_link_reads_every_contact_again_and_says_why(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = _person(dv, acs, "ada")
    ben = _person(dv, acs, "ben")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=10)
    _campaign_sets(adobe_client, ben, blackListPostalMail=True)
    dv.expire_change_tokens()
    clock.advance(minutes=1)

    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    assert "(Change tracking token expired; read all records again)" in later.message
    assert "2 contacts and 0 profiles read" in later.message  # the full read covered Ben's
    assert _contact(dv, ben)["donotpostalmail"] is True and later.counts.updated == 1
    assert _contact(dv, ada)["donotpostalmail"] is False


def test_a_contact_edited_while_it_is_written_is_read_again_and_keeps_the_edit(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    ada = _person(dv, acs, "ada")
    _campaign_sets(adobe_client, ada, blackListEmail=True)
    clock.advance(minutes=1)
    real_update = DataverseClient.update
    edited: list[str] = []

    def update(self: DataverseClient, entity_set: str, key: Any, *args: Any, **kw: Any) -> None:
        if not edited:  # a CRM user saves the contact just before the connector's write
            edited.append(str(key))
            dv.update("contact", ada, {"telephone1": "+44 20 7946 0000"})
        real_update(self, entity_set, key, *args, **kw)

    monkeypatch.setattr(DataverseClient, "update", update)

    audit = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert edited == [ada] and audit.status is AuditStatus.COMPLETED, audit.message
    row = _contact(dv, ada)
    assert row["donotbulkemail"] is True and row["telephone1"] == "+44 20 7946 0000"
    assert (audit.counts.updated, audit.counts.failed) == (1, 0)
    # The first write was conditional on what the run had read, and refused; the second wins.
    assert [c.status for c in dv.counters.calls("PATCH")] == [412, 204]


def test_a_contact_that_could_not_be_written_is_selected_again_by_the_next_run(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    _mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    ada = _person(dv, acs, "ada")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=30)
    _campaign_sets(adobe_client, ada, blackListEmail=True)
    clock.advance(minutes=20)
    _campaign_sets(adobe_client, ada, firstName="Ada")  # the profile changes again, later
    dv.faults.fail_next(503, 5, path=f"/api/data/v9.2/contacts({ada})")

    failed = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert failed.status is AuditStatus.FAILED and failed.counts.failed == 1, failed.message
    assert _contact(dv, ada)["donotbulkemail"] is False

    clock.advance(hours=2)  # far past the skew margin: only the held-back watermark finds it
    again = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert again.status is AuditStatus.COMPLETED and again.counts.updated == 1, again.message
    assert _contact(dv, ada)["donotbulkemail"] is True
