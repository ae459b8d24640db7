"""AddressBooks through the pipeline (timer -> Azurite queue -> worker) against both sandboxes:
Dotdigital address books into Dynamics marketing lists."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from sandbox.dataverse.app import (
    BATCH_TEMPLATE,
    BULK_TEMPLATE,
    COLLECTION_TEMPLATE,
    RECORD_TEMPLATE,
)
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_address_books import ADDRESS_BOOK_CONTACTS
from sandbox.dotdigital.contacts import AddressBookRecord
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.dynamics_schema import MembershipAction
from shared.localhost.host import LocalHost
from shared.mappings.model import default_mappings
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.address_books import PAGE_SIZE, AddressBooks
from shared.sync.marketing_lists.book_pull import Skipped
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.marketing_lists.pull_leads import lead_id_for
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import run_scheduled
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

BOOKS = SyncType.ADDRESS_BOOKS
CONTACT, LEAD = 2, 4


# Sandbox data -----------------------------------------------------------------------------------


def _book(
    dd: DotdigitalState,
    name: str,
    emails: Sequence[str],
    *,
    data: dict[str, dict[str, Any]] | None = None,
    status: dict[str, str] | None = None,
) -> AddressBookRecord:
    with dd.lock:
        store = dd.store
        book = store.add_book(name)
        for email in emails:
            contact = store.by_email(email) or store.add_contact(
                email,
                when=dd.now(),
                data=(data or {}).get(email),
                status=(status or {}).get(email, "Subscribed"),
            )
            store.join(book, contact, dd.now())
        return book


def _person(dv: DataverseState, table: str, email: str, state: int = 0, **values: Any) -> str:
    row = {"emailaddress1": email, "lastname": email.split("@")[0], "statecode": state, **values}
    return dv.insert(table, row)


def _linked_list(
    rt: Runtime,
    dv: DataverseState,
    book: AddressBookRecord,
    *,
    member_type: int,
    action: MembershipAction | None,
    account: str = "acme",
    dynamic: bool = False,
) -> str:
    values: dict[str, Any] = {
        "listname": f"CRM {book.name}",
        "type": dynamic,
        "createdfromcode": member_type,
        "dms_emailaccountid": account,
        "dms_emailactivated": True,
        "dms_membershipaction": None if action is None else action.value,
    }
    if dynamic:
        values["query"] = (
            '<fetch><entity name="contact"><attribute name="contactid" /></entity></fetch>'
        )
    list_id = dv.insert("list", values)
    _link(rt, book, list_id, member_type)
    return list_id


def _link(rt: Runtime, book: AddressBookRecord, list_id: str, member_type: int) -> None:
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


def _members(dv: DataverseState, list_id: str) -> set[str]:
    return set(dv.list_members(list_id))


def _ids_by_email(dv: DataverseState, table: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in dv.table(table).rows.values():
        email = str(row.values.get("emailaddress1") or "").lower()
        found.setdefault(email, []).append(row.id)
    return found


def _detail(rt: Runtime, audit: AuditRecord, item: str) -> AuditDetail:
    details = {d.item: d for d in rt.audit.details("acme", audit.row_key)}
    assert item in details, f"no detail row for {item}: {sorted(details)}"
    return details[item]


def _batches(dv: DataverseState) -> int:
    return dv.counters.count("POST", BATCH_TEMPLATE)


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def mappings(sync_runtime: Runtime, acme: EmailAccount) -> None:
    """What provisioning stores: Email, First Name, Full Name, Last Name for contacts and leads."""
    for mapping in default_mappings():
        sync_runtime.mappings.create("acme", mapping)


def _set_only_active(rt: Runtime, account: EmailAccount, value: bool) -> None:
    rt.accounts.save(account.model_copy(update={"sync_only_open_leads_and_active_contacts": value}))


# Tests ------------------------------------------------------------------------------------------


def test_new_book_becomes_a_linked_static_list_with_its_known_contacts(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    known = {email: _person(dv, "contact", email) for email in ("ada@example.com", "ben@x.org")}
    lead_only = "lena@example.com"
    _person(dv, "lead", lead_only)  # a lead: not what a contact list takes
    _book(dd, "Spring news", ["ADA@example.com", "ben@x.org", lead_only, "nobody@x.org"])
    leads_before = len(dv.table("lead"))

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.message == "1 address books synced: 2 members added, 0 leads created"
    [link] = list_links(sync_runtime).for_account("acme")
    assert (link.address_book_name, link.origin, link.member_type) == (
        "Spring news", "Dotdigital", "contact"
    )  # fmt: skip
    created = dv.row("list", link.list_id)
    assert created is not None
    assert created["listname"] == "Spring news"
    assert (created["type"], created["createdfromcode"]) == (False, CONTACT)
    assert created["dms_emailaccountid"] == "acme"
    assert created["dms_emailactivated"] is True
    assert created["dms_membershipaction"] == MembershipAction.KNOWN_CONTACTS_ONLY
    assert _members(dv, link.list_id) == set(known.values())
    assert len(dv.table("lead")) == leads_before  # an "only known" list never creates records
    assert (audit.counts.read, audit.counts.created, audit.counts.updated) == (4, 0, 2)
    detail = _detail(sync_runtime, audit, "Spring news")
    assert detail.status is AuditStatus.COMPLETED
    assert detail.message.startswith("New static marketing list created.")
    assert f"{Skipped.UNKNOWN}: 2" in detail.message
    assert (detail.counts.read, detail.counts.updated) == (4, 2)
    # The reserved "Test" book of every account is never pulled.
    assert [d.item for d in sync_runtime.audit.details("acme", audit.row_key)] == ["Spring news"]


@pytest.mark.parametrize(
    ("action", "member_type"),
    [
        (MembershipAction.KNOWN_OR_NEW_LEADS, LEAD),
        (MembershipAction.KNOWN_LEADS_ONLY, LEAD),
        (MembershipAction.KNOWN_CONTACTS_ONLY, CONTACT),
    ],
)
def test_unknown_emails_follow_the_membership_action(
    action: MembershipAction, member_type: int,
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, mappings: None,
) -> None:  # fmt: skip
    table = {CONTACT: "contact", LEAD: "lead"}[member_type]
    known = _person(dv, table, "known@example.com")
    unknown = ["new.one@example.com", "o'brien@example.ie"]
    names = {
        unknown[0]: {"FIRSTNAME": "Nia", "LASTNAME": "One"},
        unknown[1]: {"FIRSTNAME": "Pat", "LASTNAME": "O'Brien"},
    }
    book = _book(dd, "Event visitors", ["known@example.com", *unknown], data=names)
    list_id = _linked_list(sync_runtime, dv, book, member_type=member_type, action=action)
    leads_before, batches_before = len(dv.table("lead")), _batches(dv)

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    detail = _detail(sync_runtime, audit, "Event visitors")
    leads = _ids_by_email(dv, "lead")
    if action is MembershipAction.KNOWN_OR_NEW_LEADS:
        created = [leads[email] for email in unknown]
        assert all(len(ids) == 1 for ids in created)  # exactly one lead per unknown email
        assert _members(dv, list_id) == {known, *(ids[0] for ids in created)}
        new = dv.row("lead", created[1][0])
        assert new is not None
        assert (new["firstname"], new["lastname"]) == ("Pat", "O'Brien")
        assert new["emailaddress1"] == "o'brien@example.ie"
        assert new["subject"] == "Dotdigital address book: Event visitors"
        assert new["statecode"] == 0
        assert (audit.counts.created, audit.counts.updated) == (2, 3)
        assert Skipped.UNKNOWN not in detail.message
    else:
        assert _members(dv, list_id) == {known}
        assert len(dv.table("lead")) == leads_before
        assert (audit.counts.created, audit.counts.updated) == (0, 1)
        assert f"{Skipped.UNKNOWN}: 2" in detail.message
    # One $batch finds the three emails; one CreateMultiple creates the leads; one more $batch
    # adds the members.
    assert _batches(dv) - batches_before == 2
    new_leads = 1 if action is MembershipAction.KNOWN_OR_NEW_LEADS else 0
    assert dv.counters.count("POST", BULK_TEMPLATE) == new_leads


def test_a_lead_dataverse_refuses_is_counted_and_the_rest_of_the_page_is_written(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, mappings: None,
) -> None:  # fmt: skip
    emails = [f"guest{n}@example.com" for n in range(6)]
    names = {email: {"LASTNAME": f"Guest {n}"} for n, email in enumerate(emails)}
    names[emails[3]] = {"LASTNAME": "x" * 60}  # longer than lead.lastname allows (50)
    book = _book(dd, "Open day", emails, data=names)
    list_id = _linked_list(
        sync_runtime, dv, book, member_type=LEAD, action=MembershipAction.KNOWN_OR_NEW_LEADS
    )

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    leads = _ids_by_email(dv, "lead")
    assert emails[3] not in leads
    assert _members(dv, list_id) == {leads[e][0] for e in emails if e != emails[3]}
    assert (audit.counts.created, audit.counts.updated, audit.counts.failed) == (5, 5, 1)
    # The page's CreateMultiple is refused whole, then halved until the bad lead stands alone:
    # [0-5] refused, [0-2] written, [3-5] refused, [3] refused, [4-5] written.
    assert dv.counters.count("POST", BULK_TEMPLATE, status=200) == 2
    assert dv.counters.count("POST", BULK_TEMPLATE, status=400) == 3


@pytest.mark.parametrize("only_active", [True, False])
def test_inactive_contacts_and_disqualified_leads_join_only_when_the_setting_is_off(
    only_active: bool,
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _set_only_active(sync_runtime, acme, only_active)
    active = _person(dv, "contact", "active@example.com")
    inactive = _person(dv, "contact", "gone@example.com", state=1)
    disqualified = _person(dv, "lead", "lost@example.com", state=2)
    contacts_book = _book(dd, "Customers", ["active@example.com", "gone@example.com"])
    leads_book = _book(dd, "Prospects", ["lost@example.com"])
    contact_list = _linked_list(
        sync_runtime, dv, contacts_book, member_type=CONTACT,
        action=MembershipAction.KNOWN_CONTACTS_ONLY,
    )  # fmt: skip
    lead_list = _linked_list(
        sync_runtime, dv, leads_book, member_type=LEAD,
        action=MembershipAction.KNOWN_OR_NEW_LEADS,
    )  # fmt: skip

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    # Known as a disqualified lead: never a reason to create a second lead.
    assert _ids_by_email(dv, "lead")["lost@example.com"] == [disqualified]
    if only_active:
        assert _members(dv, contact_list) == {active}
        assert _members(dv, lead_list) == set()
        for book in ("Customers", "Prospects"):
            assert f"{Skipped.INACTIVE}: 1" in _detail(sync_runtime, audit, book).message
    else:
        assert _members(dv, contact_list) == {active, inactive}
        assert _members(dv, lead_list) == {disqualified}
        assert audit.counts.updated == 3


def test_a_second_run_adds_nothing_and_creates_no_second_lead(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    emails = [f"visitor{n}@example.com" for n in range(30)]
    book = _book(dd, "Webinar", emails, status={emails[0]: "Unsubscribed"})
    list_id = _linked_list(
        sync_runtime, dv, book, member_type=LEAD, action=MembershipAction.KNOWN_OR_NEW_LEADS
    )
    first = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)
    members, leads = _members(dv, list_id), len(dv.table("lead"))
    batches_before = _batches(dv)

    second = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert (first.counts.created, first.counts.updated) == (29, 29)
    assert f"{Skipped.SUPPRESSED}: 1" in _detail(sync_runtime, first, "Webinar").message
    assert second.status is AuditStatus.COMPLETED
    assert (second.counts.read, second.counts.created, second.counts.updated) == (30, 0, 0)
    assert _members(dv, list_id) == members and len(members) == 29
    assert len(dv.table("lead")) == leads
    assert "29 already in the list" in _detail(sync_runtime, second, "Webinar").message
    assert _batches(dv) - batches_before == 1  # the lookup only: nothing to write


def test_books_whose_list_is_gone_foreign_dynamic_or_closed_are_audited_not_written(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    contact = _person(dv, "contact", "ada@example.com")
    books = {
        name: _book(dd, name, ["ada@example.com"])
        for name in ("Deleted list", "Other account", "Dynamic", "Ignore", "Healthy")
    }
    _link(sync_runtime, books["Deleted list"], str(uuid.uuid4()), CONTACT)
    foreign = _linked_list(
        sync_runtime, dv, books["Other account"], member_type=CONTACT,
        action=MembershipAction.KNOWN_CONTACTS_ONLY, account="emea",
    )  # fmt: skip
    dynamic = _linked_list(
        sync_runtime, dv, books["Dynamic"], member_type=CONTACT,
        action=MembershipAction.KNOWN_CONTACTS_ONLY, dynamic=True,
    )  # fmt: skip
    ignore = _linked_list(
        sync_runtime, dv, books["Ignore"], member_type=CONTACT,
        action=MembershipAction.IGNORE_UNLISTED,
    )  # fmt: skip
    healthy = _linked_list(
        sync_runtime, dv, books["Healthy"], member_type=CONTACT,
        action=MembershipAction.KNOWN_CONTACTS_ONLY,
    )  # fmt: skip

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert audit.message == f"{Messages.LIST_NULL}; {Messages.LIST_ACCOUNT_MISMATCH}"
    deleted = _detail(sync_runtime, audit, "Deleted list")
    assert (deleted.status, deleted.message) == (AuditStatus.FAILED, Messages.LIST_NULL)
    other = _detail(sync_runtime, audit, "Other account")
    assert (other.status, other.message) == (AuditStatus.FAILED, Messages.LIST_ACCOUNT_MISMATCH)
    assert _detail(sync_runtime, audit, "Dynamic").message.startswith("Dynamic marketing list")
    assert "Ignore new and existing" in _detail(sync_runtime, audit, "Ignore").message
    assert _members(dv, foreign) == _members(dv, dynamic) == _members(dv, ignore) == set()
    assert _members(dv, healthy) == {contact}
    assert len(list_links(sync_runtime).for_account("acme")) == 5  # no new list for any of them


def test_only_the_reserved_book_means_no_new_objects_to_sync(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    assert [b.name for b in dd.store.books.values()] == ["Test"]

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert (audit.status, audit.message) == (AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    assert sync_runtime.audit.details("acme", audit.row_key) == []
    assert len(dv.table("list")) == 0


def test_thousands_of_members_cost_two_batches_per_thousand(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    # Two pages of the production size (the sandbox scans its table for every email it is
    # asked about, so a bigger book only makes the test slower, not stronger).
    seeded = dv.seed_data(contacts=1200)
    rows = [dv.table("contact").get(i) for i in seeded.contacts]
    emails = [str(r.values["emailaddress1"]) for r in rows if r is not None]
    active = {r.id for r in rows if r is not None and r.values["statecode"] == 0}
    _book(dd, "Everyone", emails)

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    [link] = list_links(sync_runtime).for_account("acme")
    assert _members(dv, link.list_id) == active
    assert audit.counts.updated == len(active)
    pages = math.ceil(len(emails) / PAGE_SIZE)
    assert pages == 2
    assert _batches(dv) == 2 * pages  # per page: one lookup, one AddMemberList batch
    writes = sum(
        dv.counters.count(method, template)
        for method in ("POST", "PATCH", "DELETE")
        for template in (COLLECTION_TEMPLATE, RECORD_TEMPLATE)
    )
    assert writes == 1  # the new list; every member write went through $batch
    assert dd.counters.count("GET", ADDRESS_BOOK_CONTACTS) == pages


def test_a_run_killed_mid_book_and_redelivered_ends_as_an_uninterrupted_run(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # A real org has no alternate key on lead emails: nothing but the sync stops a duplicate.
    dv.table("lead").key_index.clear()
    sync_runtime.registry = catalogue().replaced(AddressBooks(page_size=100))  # three pages
    emails = [f"guest{n:04d}@example.com" for n in range(250)]
    known = {email: _person(dv, "lead", email) for email in emails[::3]}
    book = _book(dd, "Conference", emails)
    list_id = _linked_list(
        sync_runtime, dv, book, member_type=LEAD, action=MembershipAction.KNOWN_OR_NEW_LEADS
    )
    # Slices of one page each (three pages); the second slice loses the answer to its
    # CreateMultiple (resent: the creates find their ids taken) and then dies before its
    # checkpoint.
    pause_every_slice_at_its_first_checkpoint(monkeypatch)

    def on_save(number: int) -> None:
        if number == 1:  # page 1 is saved; in slice 2 the list read and the lookup pass, and
            dv.faults.slow_next(0.0, count=2)  # the answer to the CreateMultiple is lost
            dv.faults.lose_response_next()

    die_at_save(monkeypatch, sync_runtime, 2, on_save)
    assert run_until_killed(sync_runtime, host, clock, "acme", BOOKS), "the worker never died"
    created_before_redelivery = len(dv.table("lead")) - len(known)
    assert created_before_redelivery > 0  # the dead slice had created its leads

    audit = finish_after_lease(sync_runtime, host, clock, "acme", BOOKS)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    leads = _ids_by_email(dv, "lead")
    duplicates = {email: ids for email, ids in leads.items() if len(ids) > 1}
    assert duplicates == {}
    assert len(dv.table("lead")) == len(emails)
    assert _members(dv, list_id) == {leads[email][0] for email in emails}
    for email, lead in known.items():
        assert leads[email] == [lead]
    for email in emails:
        if email not in known:
            assert leads[email] == [lead_id_for(email)]
    # Counts are saved with the cursor: nothing is counted twice. What the dead slice did is
    # found done by its replay ("already in the list"), so it is not counted as its work.
    assert (audit.counts.read, audit.counts.failed) == (len(emails), 0)
    detail = _detail(sync_runtime, audit, "Conference")
    assert detail.counts == audit.counts
    already = len(emails) - audit.counts.updated
    assert 0 < already <= 100 and f"{already} already in the list" in detail.message
    assert audit.counts.created <= len(emails) - len(known)
    assert dv.counters.count("POST", BULK_TEMPLATE, status=0) == 1  # the lost answer


def test_a_dry_run_names_the_list_and_members_it_would_add_and_writes_none(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    for email in ("ada@example.com", "ben@x.org"):
        _person(dv, "contact", email)
    _book(dd, "Spring news", ["ada@example.com", "ben@x.org", "nobody@x.org"])
    lists_before = len(dv.table("list"))

    assert admin.sync_now(sync_runtime, "acme", BOOKS, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=BOOKS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.message.startswith("Dry run, nothing written")
    assert len(dv.table("list")) == lists_before
    assert list_links(sync_runtime).for_account("acme") == []
    assert (audit.counts.read, audit.counts.updated) == (3, 2)  # would add two members
    would = {d.item: d for d in sync_runtime.audit.details("acme", audit.row_key)}
    assert would["Would upsert lists (Dynamics)"].counts.read == 1
    assert would["Would POST lists (Dynamics)"].counts.read == 2  # AddMemberList, one each
