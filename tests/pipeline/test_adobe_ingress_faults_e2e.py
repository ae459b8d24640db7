"""Ingress when things go wrong: a redelivered message, a worker killed at a seeded sample of
checkpoints (end state and audit counts equal an unkilled run's), 429 and 5xx from Campaign,
a create whose answer is lost (never a second profile), a record Campaign refuses."""

from __future__ import annotations

import random
import time

import pytest

from sandbox.adobe import COLLECTION, ITEM
from sandbox.adobe.state import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditStatus, Counts
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.adobe.ingress.sync_type import CustomEntityIngress, ProfileIngress
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import AdobeSandbox
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
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

PROFILES = SyncType.PROFILE_INGRESS
CUSTOM = SyncType.CUSTOM_ENTITY_INGRESS
PEOPLE = 25
# Checkpoints of a run over 25 contacts in pages of 10: the plan, the table begun, the waiting
# records, then each page's intent and its end, and the table's end (about 10 saves).
KILL_AT = sorted(random.Random(14).sample(range(2, 11), 4))


def _people(dv: DataverseState) -> list[str]:
    return [contact(dv, f"P{n:02d}", f"Person{n}", gendercode=1 + n % 2) for n in range(PEOPLE)]


def _campaign_view(acs: AdobeState) -> dict[str, tuple[str, str, str]]:
    return {key: (p["firstName"], p["lastName"], p["gender"]) for key, p in profiles(acs).items()}


def test_a_redelivered_message_changes_nothing(
    sync_runtime: Runtime, globex: EmailAccount, dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    configure(sync_runtime, profile_mapping())
    _people(dv)
    admin.set_schedule(sync_runtime, "globex", PROFILES, EVERY_5)
    assert admin.sync_now(sync_runtime, "globex", PROFILES).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    held = _campaign_view(acs)
    calls = acs.counters.count()
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert _campaign_view(acs) == held and len(held) == PEOPLE
    assert acs.counters.count() == calls  # not one more call to Campaign
    [audit] = sync_runtime.audit.recent("globex", sync_type=PROFILES)
    assert (audit.counts.read, audit.counts.created) == (PEOPLE, PEOPLE)


@pytest.mark.parametrize("phase", ["initial load", "changes"])
@pytest.mark.parametrize("die_at", KILL_AT)
def test_a_killed_run_ends_like_an_unkilled_one_in_campaign_and_in_the_audit(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, monkeypatch: pytest.MonkeyPatch, phase: str,
    die_at: int,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(ProfileIngress(page_size=10))
    configure(sync_runtime, profile_mapping())
    people = _people(dv)
    wanted = {key: (f"P{n:02d}", f"Person{n}", "female" if n % 2 else "male")
              for n, key in enumerate(people)}  # fmt: skip
    expected = Counts(read=PEOPLE, created=PEOPLE)  # what an unkilled run counts
    if phase == "changes":
        run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
        for n, key in enumerate(people[:15]):
            dv.update("contact", key, {"lastname": f"Changed{n}"})
            wanted[key] = (wanted[key][0], f"Changed{n}", wanted[key][2])
        for n in range(7):
            wanted[contact(dv, f"New{n}", f"Newcomer{n}")] = (f"New{n}", f"Newcomer{n}", "unknown")
        expected = Counts(read=22, created=7, updated=15)
        clock.advance(minutes=5)
    earlier = {a.run_id for a in sync_runtime.audit.recent("globex", sync_type=PROFILES)}
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    die_at_save(monkeypatch, sync_runtime, die_at)
    assert run_until_killed(sync_runtime, host, clock, "globex", PROFILES), "never died"

    _finish_after_lease(sync_runtime, host, clock)

    [audit] = [a for a in sync_runtime.audit.recent("globex", sync_type=PROFILES)
               if a.run_id not in earlier]  # fmt: skip
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.counts == expected
    assert _campaign_view(acs) == wanted
    assert len(acs.profiles()) == len(wanted)  # no profile twice


def test_a_run_killed_as_it_ends_a_one_page_read_counts_that_page_once(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # The table's state (the next run's delta link) is stored just before the checkpoint that
    # ends the table: the redelivered slice must read the changes again from the link it
    # started with, not from the new one (which would find nothing and count nothing).
    configure(sync_runtime, profile_mapping())
    people = _people(dv)
    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    for key in people[:4]:
        dv.update("contact", key, {"lastname": "Changed"})
    clock.advance(minutes=5)
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    die_at_save(monkeypatch, sync_runtime, 5)  # plan, begun, waiting, intent, then the end
    assert run_until_killed(sync_runtime, host, clock, "globex", PROFILES), "never died"

    _finish_after_lease(sync_runtime, host, clock)

    audit = sync_runtime.audit.recent("globex", sync_type=PROFILES, limit=1)[0]
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.counts == Counts(read=4, updated=4)
    assert all(profiles(acs)[key]["lastName"] == "Changed" for key in people[:4])


def _card_world(dv: DataverseState) -> dict[str, str | None]:
    """Cards of contacts Campaign has (linked), cards of a contact it does not have yet
    (waiting) and cards of nobody; each card's expected owner id, or None."""
    owners = [contact(dv, f"Owner{n}", f"Holder{n}") for n in range(5)]
    return {**{dv.insert("new_loyaltycard", {"new_name": f"C-{n:02d}",
                 "new_contactid@odata.bind": f"/contacts({owners[n % 5]})"}): owners[n % 5]
               for n in range(16)},
            **{dv.insert("new_loyaltycard", {"new_name": f"L-{n:02d}"}): None
               for n in range(6)}}  # fmt: skip


@pytest.mark.parametrize("die_at", [None, *KILL_AT])  # None: the unkilled run compared with
def test_a_killed_custom_entity_run_ends_like_an_unkilled_one(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, monkeypatch: pytest.MonkeyPatch, die_at: int | None,
) -> None:  # fmt: skip
    rt = sync_runtime
    rt.registry = catalogue().replaced(CustomEntityIngress(page_size=10))
    add_cards(acs)
    configure(rt, profile_mapping(), card_mapping())
    cards = _card_world(dv)
    run_scheduled(rt, host, clock, "globex", PROFILES)  # the owners' profiles, then no more
    admin.set_schedule(rt, "globex", PROFILES, ScheduleSpec(interval=Interval.MANUAL))
    late = contact(dv, "Late", "Comer")  # no profile yet: its cards wait
    for n in range(3):
        cards[dv.insert("new_loyaltycard", {"new_name": f"W-{n}",
                        "new_contactid@odata.bind": f"/contacts({late})"})] = late  # fmt: skip
    clock.advance(minutes=5)
    if die_at is None:
        audit = run_scheduled(rt, host, clock, "globex", CUSTOM)
    else:
        pause_every_slice_at_its_first_checkpoint(monkeypatch)
        die_at_save(monkeypatch, rt, die_at)
        assert run_until_killed(rt, host, clock, "globex", CUSTOM), "never died"
        audit = finish_after_lease(rt, host, clock, "globex", CUSTOM)

    # 25 cards read: 22 written, 3 waiting for their owner's profile.
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (25, 22, 0)
    assert "3 wait for their parent record in Campaign" in audit.message
    pkeys = profile_pkeys(acs)
    held = {r["crmId"]: r for r in rows(acs, CARDS)}
    assert len(rows(acs, CARDS)) == len(held) == 22  # no card twice
    for card, owner in cards.items():
        if owner == late:
            assert card not in held
        else:
            assert held[card]["profile"] == ({"PKey": pkeys[owner]} if owner else {})


def _finish_after_lease(rt: Runtime, host: LocalHost, clock: ManualClock) -> None:
    """The dead worker's lease runs out; workers take the redelivered message to the end (the
    run is not the type's only one in the audit, as `kills.finish_after_lease` expects)."""
    clock.advance(seconds=rt.settings.run_lease_seconds + 5)
    deadline = time.monotonic() + 40
    while rt.schedules.get("globex", PROFILES).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "nobody finished the run"
        if not host.process_once():
            time.sleep(0.2)


def test_throttling_and_server_errors_from_campaign_are_retried(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    configure(sync_runtime, profile_mapping())
    people = _people(dv)
    # Four faults, one fewer than a request's attempts: whichever of the parallel writes meets
    # them, even one request meeting all four, gets through.
    acs.throttle_next(2)
    acs.faults.fail_next(503, 1)
    acs.faults.fail_next(500, 1)

    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert set(profiles(acs)) == set(people)
    assert (audit.counts.created, audit.counts.failed) == (PEOPLE, 0)
    assert acs.faults.injected["503"] == 1 and acs.faults.injected["500"] == 1


def test_a_create_whose_answer_is_lost_makes_one_profile_counted_once(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, adobe_sandbox: AdobeSandbox,
) -> None:  # fmt: skip
    configure(sync_runtime, profile_mapping())
    ada = contact(dv, "Ada", "Lovelace")
    collection = f"/{acs.organization}/campaign/profileAndServicesExt/profile"
    acs.faults.lose_response_next(path=collection)

    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert [p["externalId"] for p in acs.profiles()] == [ada]
    assert acs.faults.injected["lose"] == 1
    assert acs.counters.count("POST", COLLECTION) == 2  # sent again: a duplicate key, no twin
    assert (audit.counts.created, audit.counts.updated) == (1, 0)


def test_a_record_campaign_refuses_is_skipped_counted_and_named(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    mapping = profile_mapping(replacements=[])  # gender labels go as they are: not an enum value
    configure(sync_runtime, mapping)
    ada = contact(dv, "Ada", "Lovelace", gendercode=2)
    alan = contact(dv, "Alan", "Turing")

    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert set(profiles(acs)) == {alan}
    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (2, 1, 1)
    assert "1 failed and were skipped" in audit.message
    assert "`adobe replay globex --table contact`" in audit.message
    [failed] = [d for d in sync_runtime.audit.details("globex", audit.row_key)
                if d.status is AuditStatus.FAILED]  # fmt: skip
    assert failed.key == f"contact:{ada}" and ada in failed.item
    assert "nms:recipient:gender" in failed.message
    assert acs.counters.count("PATCH", ITEM) == 0
