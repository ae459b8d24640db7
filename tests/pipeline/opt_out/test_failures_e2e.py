"""OptOut's failures and edge cases end to end: a Campaign without the custom filter, a record
that keeps failing, a contact whose write could not be made, a CRM user's edit during the
write, an expired delta link, and a dry run."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.adobe import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.clients.adobe import AdobeCampaignClient
from shared.clients.dataverse.client import DataverseClient
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.adobe_config_model import OptOutMode
from shared.sync.adobe.opt_out_sync import DELTA_LINK_KEY
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import run_scheduled
from tests.pipeline.opt_out.world import (
    OPT_OUT,
    campaign_sets,
    contact_row,
    details_of,
    person,
    profile_of,
    set_mode,
)


def test_without_the_custom_filter_in_campaign_the_run_fails_naming_it(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    acs.filters.clear()
    person(dv, acs, "ada")

    audit = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert audit.status is AuditStatus.FAILED
    assert "no custom filter byOptOutChanged on the profile resource" in audit.message
    assert "Configuring an Adobe Campaign account" in audit.message


def test_a_record_that_keeps_failing_is_named_and_read_again_by_the_next_run(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    ada = person(dv, acs, "ada", donotbulkemail=True)
    ben = person(dv, acs, "ben", donotbulkemail=True)
    [row_id] = [i for i, r in acs.tables["profile"].rows.items() if r["externalId"] == ada]
    pkey = acs.pkey("profile", row_id)
    # Ada's PATCH meets a server error on every attempt the retry policy makes.
    acs.faults.fail_next(503, 5, path=f"/{acs.organization}/campaign/profileAndServicesExt/"
                                      f"profile/{pkey}")  # fmt: skip

    first = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert first.status is AuditStatus.COMPLETED_WITH_ERRORS, first.message
    assert (first.counts.updated, first.counts.failed) == (1, 1)
    failed = details_of(sync_runtime, first)["Records that failed"]
    assert failed.message.startswith(f"{ada}: ") and ben not in failed.message
    assert profile_of(acs, ada)["blackListEmail"] is False
    # Its change is read again: the delta link did not move past it.
    assert sync_runtime.state.get_value("globex", DELTA_LINK_KEY) is None

    clock.advance(minutes=10)
    again = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert profile_of(acs, ada)["blackListEmail"] is True and again.counts.updated == 1


def test_a_dry_run_names_the_writes_and_makes_none(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, dv: DataverseState,
    acs: AdobeState, adobe_client: AdobeCampaignClient, clock: ManualClock,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = person(dv, acs, "ada", donotbulkemail=True)
    ben = person(dv, acs, "ben")
    campaign_sets(adobe_client, ben, ccpaOptOut=True)
    clock.advance(minutes=1)
    before = (profile_of(acs, ada), contact_row(dv, ben))

    assert admin.sync_now(sync_runtime, "globex", OPT_OUT, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("globex", sync_type=OPT_OUT)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert (profile_of(acs, ada), contact_row(dv, ben)) == before
    assert sync_runtime.state.get_value("globex", DELTA_LINK_KEY) is None
    would = {item for item in details_of(sync_runtime, audit) if item.startswith("Would")}
    assert any("Adobe Campaign" in item for item in would), would
    assert any("Dynamics" in item for item in would), would


def test_an_expired_delta_link_reads_every_contact_again_and_says_why(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada = person(dv, acs, "ada")
    ben = person(dv, acs, "ben")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=10)
    campaign_sets(adobe_client, ben, blackListPostalMail=True)
    dv.expire_change_tokens()
    clock.advance(minutes=1)

    later = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)

    assert later.status is AuditStatus.COMPLETED, later.message
    assert "(Change tracking token expired; read all records again)" in later.message
    assert "2 contacts and 0 profiles read" in later.message  # the full read covered Ben's
    assert contact_row(dv, ben)["donotpostalmail"] is True and later.counts.updated == 1
    assert contact_row(dv, ada)["donotpostalmail"] is False


def test_a_contact_edited_while_it_is_written_is_read_again_and_keeps_the_edit(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    ada = person(dv, acs, "ada")
    campaign_sets(adobe_client, ada, blackListEmail=True)
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
    row = contact_row(dv, ada)
    assert row["donotbulkemail"] is True and row["telephone1"] == "+44 20 7946 0000"
    assert (audit.counts.updated, audit.counts.failed) == (1, 0)
    # The first write was conditional on what the run had read, and refused; the second wins.
    assert [c.status for c in dv.counters.calls("PATCH")] == [412, 204]


def test_a_contact_that_could_not_be_written_is_selected_again_by_the_next_run(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_client: AdobeCampaignClient,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    ada = person(dv, acs, "ada")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=30)
    campaign_sets(adobe_client, ada, blackListEmail=True)
    clock.advance(minutes=20)
    campaign_sets(adobe_client, ada, firstName="Ada")  # the profile changes again, later
    dv.faults.fail_next(503, 5, path=f"/api/data/v9.2/contacts({ada})")

    failed = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert failed.status is AuditStatus.FAILED and failed.counts.failed == 1, failed.message
    assert contact_row(dv, ada)["donotbulkemail"] is False

    clock.advance(hours=2)  # far past the skew margin: only the held-back watermark finds it
    again = run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    assert again.status is AuditStatus.COMPLETED and again.counts.updated == 1, again.message
    assert contact_row(dv, ada)["donotbulkemail"] is True
