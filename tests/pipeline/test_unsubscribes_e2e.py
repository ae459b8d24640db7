"""Unsubscribes through the pipeline (timer -> Azurite queue -> worker) against both sandboxes:
people who unsubscribed from a linked address book leave the marketing list and get an Email
List Unsubscriber row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_address_books import ADDRESS_BOOK_UNSUBSCRIBED_SINCE
from sandbox.dotdigital.contacts import AddressBookRecord
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.dynamics_schema import MembershipAction
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.unsubscribes import Unsubscribes, row_id, watermark_key
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

UNSUBS = SyncType.UNSUBSCRIBES
CONTACT, LEAD = 2, 4


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


def _book(dd: DotdigitalState, name: str, emails: Sequence[str], when: float) -> AddressBookRecord:
    with dd.lock:
        store = dd.store
        book = store.add_book(name)
        for email in emails:
            contact = store.by_email(email) or store.add_contact(email, when=when)
            store.join(book, contact, when)
        return book


def _unsubscribe(dd: DotdigitalState, book: AddressBookRecord, email: str, when: float) -> None:
    with dd.lock:
        contact = dd.store.by_email(email)
        assert contact is not None
        dd.store.unsubscribe_from_book(book, contact, when)


def _person(dv: DataverseState, table: str, email: str) -> str:
    return dv.insert(table, {"emailaddress1": email, "lastname": email.split("@")[0]})


def _linked_list(
    rt: Runtime,
    dv: DataverseState,
    book: AddressBookRecord,
    members: Sequence[str],
    *,
    member_type: int = CONTACT,
    dynamic: bool = False,
    activated: bool = True,
) -> str:
    values: dict[str, Any] = {
        "listname": f"CRM {book.name}",
        "type": dynamic,
        "createdfromcode": member_type,
        "dms_emailaccountid": "acme",
        "dms_emailactivated": activated,
        "dms_membershipaction": MembershipAction.KNOWN_CONTACTS_ONLY.value,
    }
    if dynamic:
        values["query"] = (
            '<fetch><entity name="contact"><attribute name="contactid" /></entity></fetch>'
        )
    list_id = dv.insert("list", values)
    for member in members:
        if not dynamic:
            dv.add_list_member(list_id, member)
    list_links(rt).save(
        "acme",
        ListLink(
            list_id=list_id,
            list_name=f"CRM {book.name}",
            member_type={CONTACT: "contact", LEAD: "lead"}[member_type],
            address_book_id=book.id,
            address_book_name=book.name,
            origin="Dynamics",
        ),
    )
    return list_id


def _unsubscribers(dv: DataverseState) -> list[dict[str, Any]]:
    table = dv.table("dms_listunsubscriber")
    rows = [dv.row("dms_listunsubscriber", row_id) for row_id in table.rows]
    return sorted((r for r in rows if r is not None), key=lambda r: str(r["dms_email"]))


def _details(rt: Runtime, audit: AuditRecord) -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details("acme", audit.row_key)}


def _ago(clock: ManualClock, **delta: float) -> float:
    return (clock.now - timedelta(**delta)).timestamp()


# Tests ------------------------------------------------------------------------------------------


def test_an_unsubscriber_leaves_the_list_and_is_recorded_once(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    emails = ["ada@example.com", "ben@example.com", "cy@example.com"]
    people = {email: _person(dv, "contact", email) for email in emails}
    book = _book(dd, "News", emails, _ago(clock, days=3))
    list_id = _linked_list(sync_runtime, dv, book, list(people.values()))
    when = _ago(clock, hours=2)
    _unsubscribe(dd, book, "Ada@Example.com", when)

    audit = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert set(dv.list_members(list_id)) == {people["ben@example.com"], people["cy@example.com"]}
    [row] = _unsubscribers(dv)
    assert row["dms_listunsubscriberid"] == row_id(
        "acme", list_id, "ada@example.com", datetime.fromtimestamp(when).astimezone()
    )
    assert row["dms_email"].lower() == "ada@example.com"
    assert row["_dms_contactid_value"] == people["ada@example.com"]
    assert row["_dms_listid_value"] == list_id
    assert row["dms_emailaccountid"] == "acme"
    assert datetime.fromisoformat(row["dms_unsubscribedon"]).timestamp() == when
    assert (audit.counts.read, audit.counts.deleted, audit.counts.created) == (1, 1, 1)
    detail = _details(sync_runtime, audit)["CRM News"]
    assert detail.message.startswith("1 unsubscribed, 1 removed from the marketing list")
    assert audit.message == "1 marketing lists: 1 members removed, 1 list unsubscribers recorded"
    stored = sync_runtime.state.get_value("acme", watermark_key(book.id))
    assert stored == clock.now.isoformat()

    # The next run reads from the watermark: nothing new, nothing written twice.
    clock.advance(minutes=5)
    again = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)
    assert again.status is AuditStatus.COMPLETED and again.message == Messages.NO_NEW_OBJECTS
    assert len(_unsubscribers(dv)) == 1
    assert (again.counts.read, again.counts.created, again.counts.deleted) == (0, 0, 0)


def test_a_lead_list_loses_its_lead_and_the_row_names_the_lead(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    lead = _person(dv, "lead", "dee@example.com")
    contact = _person(dv, "contact", "dee@example.com")  # same email: not in a lead list
    book = _book(dd, "Leads", ["dee@example.com"], _ago(clock, days=1))
    list_id = _linked_list(sync_runtime, dv, book, [lead], member_type=LEAD)
    _unsubscribe(dd, book, "dee@example.com", _ago(clock, hours=1))

    audit = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert dv.list_members(list_id) == []
    [row] = _unsubscribers(dv)
    assert row["_dms_leadid_value"] == lead and row["_dms_contactid_value"] is None
    assert contact  # untouched: only the list's member type is looked at


def test_an_unsubscriber_no_longer_in_the_list_is_recorded_with_its_contact(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    outside = _person(dv, "contact", "eve@example.com")
    member = _person(dv, "contact", "fay@example.com")
    book = _book(dd, "Offers", ["eve@example.com", "fay@example.com", "gus@example.com"],
                 _ago(clock, days=1))  # fmt: skip
    list_id = _linked_list(sync_runtime, dv, book, [member])
    for email in ("eve@example.com", "gus@example.com"):  # gus has no record in Dynamics
        _unsubscribe(dd, book, email, _ago(clock, hours=1))

    audit = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert dv.list_members(list_id) == [member]
    eve, gus = _unsubscribers(dv)
    assert eve["_dms_contactid_value"] == outside
    assert gus["dms_email"] == "gus@example.com" and gus["_dms_contactid_value"] is None
    assert (audit.counts.read, audit.counts.deleted, audit.counts.created) == (2, 0, 2)


def test_lists_not_activated_for_email_are_left_alone_and_nothing_new_says_so(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    person = _person(dv, "contact", "hal@example.com")
    book = _book(dd, "Quiet", ["hal@example.com"], _ago(clock, days=1))
    list_id = _linked_list(sync_runtime, dv, book, [person], activated=False)
    _unsubscribe(dd, book, "hal@example.com", _ago(clock, hours=1))
    active = _book(dd, "Active", [], _ago(clock, days=1))
    _linked_list(sync_runtime, dv, active, [])

    audit = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)

    assert audit.status is AuditStatus.COMPLETED and audit.message == Messages.NO_NEW_OBJECTS
    assert dv.list_members(list_id) == [person] and _unsubscribers(dv) == []
    assert dd.counters.count("GET", ADDRESS_BOOK_UNSUBSCRIBED_SINCE) == 1  # the active book


def test_a_dynamic_list_records_its_unsubscribers_without_removing_anyone(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    person = _person(dv, "contact", "ivy@example.com")
    book = _book(dd, "Dynamic", ["ivy@example.com"], _ago(clock, days=1))
    _linked_list(sync_runtime, dv, book, [], dynamic=True)
    _unsubscribe(dd, book, "ivy@example.com", _ago(clock, hours=1))

    audit = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    [row] = _unsubscribers(dv)
    assert row["_dms_contactid_value"] == person
    assert "not removed" in _details(sync_runtime, audit)["CRM Dynamic"].message


def test_a_redelivered_message_and_a_rerun_from_an_old_watermark_write_nothing_twice(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    emails = [f"p{n}@example.com" for n in range(4)]
    people = [_person(dv, "contact", email) for email in emails]
    book = _book(dd, "Club", emails, _ago(clock, days=1))
    list_id = _linked_list(sync_runtime, dv, book, people)
    for email in emails[:3]:
        _unsubscribe(dd, book, email, _ago(clock, hours=1))

    admin.set_schedule(sync_runtime, "acme", UNSUBS, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", UNSUBS).accepted
    [message] = take_queued(sync_runtime)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    # The same message again (the broker redelivers it): not the current run, nothing done.
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT
    [audit] = sync_runtime.audit.recent("acme", sync_type=UNSUBS)
    assert (audit.counts.deleted, audit.counts.created) == (3, 3)

    # The watermark lost (e.g. restored state): the book is read again from the start.
    sync_runtime.state.set_value("acme", watermark_key(book.id), "", clock.now)
    clock.advance(minutes=5)
    again = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert len(_unsubscribers(dv)) == 3 and dv.list_members(list_id) == [people[3]]
    assert (again.counts.read, again.counts.created, again.counts.deleted) == (3, 0, 0)
    assert "3 recorded already" in _details(sync_runtime, again)["CRM Club"].message


def test_a_run_killed_after_writing_a_page_and_redelivered_ends_like_an_uninterrupted_one(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(Unsubscribes(page_size=10))
    emails = [f"m{n:02d}@example.com" for n in range(30)]
    people = {email: _person(dv, "contact", email) for email in emails}
    book = _book(dd, "Big", emails, _ago(clock, days=1))
    list_id = _linked_list(sync_runtime, dv, book, list(people.values()))
    gone = emails[:25]
    for n, email in enumerate(gone):
        _unsubscribe(dd, book, email, _ago(clock, hours=2, minutes=-n))
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    # The run's plan, then each page's intent and its end: page 2 is written, never saved.
    die_at_save(monkeypatch, sync_runtime, 5)
    assert run_until_killed(sync_runtime, host, clock, "acme", UNSUBS), "the worker never died"
    assert len(_unsubscribers(dv)) == 20  # two pages written before the death

    audit = finish_after_lease(sync_runtime, host, clock, "acme", UNSUBS)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    rows = _unsubscribers(dv)
    assert [r["dms_email"] for r in rows] == sorted(gone)  # one row each, none twice
    assert set(dv.list_members(list_id)) == {people[e] for e in emails[25:]}
    detail = _details(sync_runtime, audit)["CRM Big"]
    # The replayed page found its own work done: counted once, as this run's (not "recorded
    # already"), as an unkilled run counts it.
    assert (audit.counts.read, audit.counts.created, audit.counts.deleted) == (25, 25, 25)
    assert "recorded already" not in detail.message, detail.message


def test_a_dry_run_names_what_it_would_remove_and_record_and_writes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    person = _person(dv, "contact", "jo@example.com")
    book = _book(dd, "Dry", ["jo@example.com"], _ago(clock, days=1))
    list_id = _linked_list(sync_runtime, dv, book, [person])
    _unsubscribe(dd, book, "jo@example.com", _ago(clock, hours=1))

    assert admin.sync_now(sync_runtime, "acme", UNSUBS, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=UNSUBS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert dv.list_members(list_id) == [person] and _unsubscribers(dv) == []
    assert sync_runtime.state.get_value("acme", watermark_key(book.id)) is None
    would = _details(sync_runtime, audit)
    assert would["Would DELETE lists (Dynamics)"].counts.read == 1
    assert would["Would PATCH dms_listunsubscribers (Dynamics)"].counts.read == 1


def test_a_write_batch_whose_answer_was_lost_is_resent_and_counted_once(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    emails = ["lo1@example.com", "lo2@example.com", "lo3@example.com"]
    people = [_person(dv, "contact", email) for email in emails]
    book = _book(dd, "Lost", emails, _ago(clock, days=1))
    list_id = _linked_list(sync_runtime, dv, book, people)
    for email in emails:
        _unsubscribe(dd, book, email, _ago(clock, hours=1))
    # The list query, the list read and the lookup pass; the writes are applied, their answer
    # lost, and the client sends the batch again (DELETE and create-only PATCH are safe to).
    dv.faults.slow_next(0.0, count=3)
    dv.faults.lose_response_next()

    audit = run_scheduled(sync_runtime, host, clock, "acme", UNSUBS)

    assert dv.faults.injected["lose"] == 1
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert dv.list_members(list_id) == [] and len(_unsubscribers(dv)) == 3
    assert (audit.counts.deleted, audit.counts.created, audit.counts.failed) == (3, 3, 0)
    assert "recorded already" not in _details(sync_runtime, audit)["CRM Lost"].message
