"""ProfileIngress and CustomEntityIngress through the pipeline (timer -> Azurite queue ->
worker) against the Dataverse and ACS sandboxes: the initial load, changes honouring "apply
updates", deletes, filters, replacements, choices, a child before its parent."""

from __future__ import annotations

import pytest

from sandbox.adobe.state import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.adobe_config_model import Comparison, FilterRule, RecordFilter
from shared.sync.adobe.ingress import sync_type as ingress_sync_type
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.adobe_ingress_world import (
    CARDS,
    add_cards,
    card_mapping,
    configure,
    contact,
    profile_mapping,
    profile_pkeys,
    profiles,
    rows,
)
from tests.pipeline.helpers import run_scheduled

PROFILES = SyncType.PROFILE_INGRESS
CUSTOM = SyncType.CUSTOM_ENTITY_INGRESS


def test_the_initial_load_sends_every_contact_inactive_included_keyed_by_contactid(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    configure(sync_runtime, profile_mapping())
    ada = contact(dv, "Ada", "Lovelace", gendercode=2)
    alan = contact(dv, "Alan", "Turing", gendercode=1)
    gone = contact(dv, "Grace", "Hopper", statecode=1, statuscode=2)  # inactive
    acs.insert("profile", {"email": "own@example.com", "firstName": "Own"})  # not ours

    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    held = profiles(acs)
    assert set(held) == {ada, alan, gone, ""}
    assert (held[ada]["firstName"], held[ada]["lastName"], held[ada]["email"]) == (
        "Ada", "Lovelace", "ada@example.com")  # fmt: skip
    assert (held[ada]["gender"], held[alan]["gender"]) == ("female", "male")  # replaced labels
    assert held[gone]["lastName"] == "Hopper"
    assert held[""]["firstName"] == "Own"  # a profile the sync did not create is left alone
    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (3, 3, 0)
    assert audit.message == "3 Dynamics records read: 3 created, 0 updated, 0 deleted in Campaign"

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    assert (quiet.status, quiet.message) == (AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)


def test_changes_write_only_fields_that_apply_updates_and_new_records_whole(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    mapping = profile_mapping()
    for field in mapping.fields:
        if field.campaign_field == "firstName":
            field.apply_updates = False
    configure(sync_runtime, mapping)
    ada = contact(dv, "Ada", "Lovelace")
    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    dv.update("contact", ada, {"firstname": "Augusta", "lastname": "King"})
    new = contact(dv, "Mary", "Somerville")
    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    held = profiles(acs)
    assert (held[ada]["firstName"], held[ada]["lastName"]) == ("Ada", "King")
    assert held[new]["firstName"] == "Mary"  # a new record is written whole
    assert (audit.counts.read, audit.counts.created, audit.counts.updated) == (2, 1, 1)


@pytest.mark.parametrize("apply_deletes", [False, True])
def test_a_contact_deleted_in_dynamics_is_deleted_in_campaign_only_with_apply_deletes(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, apply_deletes: bool,
) -> None:  # fmt: skip
    configure(sync_runtime, profile_mapping(apply_deletes=apply_deletes))
    ada = contact(dv, "Ada", "Lovelace")
    keep = contact(dv, "Alan", "Turing")
    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    dv.delete("contact", ada)
    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    assert (ada in profiles(acs)) is not apply_deletes
    assert keep in profiles(acs)
    assert (audit.counts.read, audit.counts.deleted) == (1, 1 if apply_deletes else 0)


@pytest.mark.parametrize("delete_filtered_out", [False, True])
def test_a_record_that_leaves_the_filter_is_deleted_only_with_delete_filtered_out(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, delete_filtered_out: bool,
) -> None:  # fmt: skip
    rule = FilterRule(dynamics_field="lastname", comparison=Comparison.NOT_EQUALS, value="Skip")
    record_filter = RecordFilter(rules=[rule], delete_filtered_out=delete_filtered_out)
    configure(sync_runtime, profile_mapping(filter=record_filter))
    ada = contact(dv, "Ada", "Lovelace")
    never = contact(dv, "Nobody", "Skip")
    first = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    assert set(profiles(acs)) == {ada}
    assert (first.counts.read, first.counts.created) == (2, 1)

    dv.update("contact", ada, {"lastname": "Skip"})
    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    held = profiles(acs)
    assert (ada in held) is not delete_filtered_out
    if not delete_filtered_out:
        assert held[ada]["lastName"] == "Lovelace"  # left as it was
    assert never not in held
    assert audit.counts.deleted == (1 if delete_filtered_out else 0)


@pytest.mark.parametrize(("technical", "expected"), [(False, "Inactive"), (True, 1)])
def test_a_choice_is_sent_as_its_label_or_its_technical_value(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, technical: bool, expected: object,
) -> None:  # fmt: skip
    add_cards(acs)
    configure(sync_runtime, profile_mapping(),
              card_mapping(technical_picklist_values=technical))  # fmt: skip
    card = dv.insert("new_loyaltycard", {"new_name": "C-1", "new_tier": "Gold"})
    dv.update("new_loyaltycard", card, {"statecode": 1, "statuscode": 2})

    audit = run_scheduled(sync_runtime, host, clock, "globex", CUSTOM)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    [row] = rows(acs, CARDS)
    assert (row["crmId"], row["name"], row["state"]) == (card, "C-1", expected)


def test_a_card_written_before_its_contact_waits_and_is_linked_by_a_later_run(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    add_cards(acs)
    configure(sync_runtime, profile_mapping(), card_mapping())
    ada = contact(dv, "Ada", "Lovelace")
    owner = {"new_contactid@odata.bind": f"/contacts({ada})"}
    card = dv.insert("new_loyaltycard", {"new_name": "C-7", "new_tier": "Gold", **owner})
    loose = dv.insert("new_loyaltycard", {"new_name": "C-8"})  # no contact

    early = run_scheduled(sync_runtime, host, clock, "globex", CUSTOM)
    assert [r["crmId"] for r in rows(acs, CARDS)] == [loose]
    assert early.status is AuditStatus.COMPLETED, early.message
    assert "1 wait for their parent record in Campaign" in early.message
    details = {d.item: d for d in sync_runtime.audit.details("globex", early.row_key)}
    assert "1 waiting for their parent record" in details["new_loyaltycard"].message

    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    clock.advance(minutes=5)
    later = run_scheduled(sync_runtime, host, clock, "globex", CUSTOM)

    linked = {r["crmId"]: r for r in rows(acs, CARDS)}
    assert linked[card]["profile"] == {"PKey": profile_pkeys(acs)[ada]}
    assert linked[card]["state"] == "Active"  # read again with its labels
    assert (later.counts.read, later.counts.created) == (1, 1)
    assert "wait" not in later.message


def test_more_waiting_cards_than_a_state_row_keeps_are_not_dropped_but_read_again(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(ingress_sync_type, "MAX_WAITING", 1)  # a row that holds one id
    add_cards(acs)
    configure(sync_runtime, profile_mapping(), card_mapping())
    ada, grace = contact(dv, "Ada", "Lovelace"), contact(dv, "Grace", "Hopper")
    cards = {
        dv.insert("new_loyaltycard", {"new_name": f"C-{n}", "new_tier": "Gold",
                                      "new_contactid@odata.bind": f"/contacts({who})"})
        for n, who in ((1, ada), (2, grace))
    }  # fmt: skip

    early = run_scheduled(sync_runtime, host, clock, "globex", CUSTOM)
    assert rows(acs, CARDS) == []
    details = {d.item: d for d in sync_runtime.audit.details("globex", early.row_key)}
    assert "the next run reads the whole table again" in details["new_loyaltycard"].message

    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    clock.advance(minutes=5)
    later = run_scheduled(sync_runtime, host, clock, "globex", CUSTOM)

    assert {r["crmId"] for r in rows(acs, CARDS)} == cards  # both, not only the one kept
    assert "wait" not in later.message, later.message
    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "globex", CUSTOM)
    assert quiet.counts.read == 0, quiet.message  # the whole read happened once, not again


def test_a_dry_run_writes_nothing_and_a_real_run_then_loads_everything(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    configure(sync_runtime, profile_mapping())
    ada = contact(dv, "Ada", "Lovelace")

    assert admin.sync_now(sync_runtime, "globex", PROFILES, dry_run=True).accepted
    host.drain()

    [dry] = sync_runtime.audit.recent("globex", sync_type=PROFILES)
    assert dry.message.startswith("Dry run, nothing written"), dry.message
    assert profiles(acs) == {} and dry.counts.created == 1
    would = {d.item for d in sync_runtime.audit.details("globex", dry.row_key)}
    assert "Would create profile (Adobe Campaign)" in would
    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    assert set(profiles(acs)) == {ada} and audit.counts.created == 1  # still the initial load
