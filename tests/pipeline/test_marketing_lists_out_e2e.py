"""MarketingListsDataOut through the pipeline (timer -> Azurite queue -> worker) against both
sandboxes: marketing lists of several thousand members -> address books with mapped, linked and
default values; increments; removals; membership actions; audit messages; a killed run.

Expected platform data is computed here from the Dataverse sandbox's rows, independently of the
product's value code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from sandbox.dataverse.app import (
    BATCH_TEMPLATE,
    COLLECTION_TEMPLATE,
    NAVIGATION_TEMPLATE,
    RECORD_TEMPLATE,
)
from sandbox.dataverse.generator import ListSpec
from sandbox.dotdigital.api_address_books import ADDRESS_BOOK_CONTACTS_DELETE, ADDRESS_BOOKS
from sandbox.dotdigital.api_contacts import IMPORT
from sandbox.dotdigital.state import DataFieldRecord
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.clients import DataverseClient, MemberType
from shared.dynamics_schema import MembershipAction
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.mappings.model import DataMapping, MappedEntity, default_mappings
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, LabelOrigin
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists import list_push
from shared.sync.marketing_lists.data_out import MarketingListsDataOut
from shared.sync.marketing_lists.links_repo import list_links
from shared.sync.marketing_lists.snapshot_repo import ListMemberRepository, list_members
from shared.sync_types import SyncType
from tests.fixtures.crm_fields import marketing_crm_fields
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import latest, run_scheduled

OUT = SyncType.MARKETING_LISTS_DATA_OUT
COMPANY_DEFAULT = "Independent"
ROLE_DEFAULT = "Valued customer"


@pytest.fixture(autouse=True)
def data_out_only(sync_runtime: Runtime) -> None:
    """These tests are about the DataOut type; the two-way composition (DataIn first) has
    tests of its own, and its calls would blur the call counts asserted here."""
    sync_runtime.registry = catalogue().replaced(MarketingListsDataOut())


@dataclass
class World:
    rt: Runtime
    host: LocalHost
    clock: ManualClock
    dv: DataverseSandbox
    dd: DotdigitalSandbox
    lists: dict[str, str]  # name -> list id

    def run(self) -> AuditRecord:
        return run_scheduled(self.rt, self.host, self.clock, "acme", OUT)

    def details(self, audit: AuditRecord) -> dict[str, AuditDetail]:
        return {d.item: d for d in self.rt.audit.details("acme", audit.row_key)}

    def activate(self, name: str, action: MembershipAction = MembershipAction.IGNORE_UNLISTED,
                 account: str = "acme") -> str:  # fmt: skip
        list_id = self.lists[name]
        self.dv.state.update(
            "list", list_id,
            {"dms_emailaccountid": account, "dms_emailactivated": True,
             "dms_membershipaction": int(action)},
        )  # fmt: skip
        return list_id

    def book(self, name: str) -> dict[str, dict[str, Any]]:
        """The address book's members: email -> data fields."""
        store = self.dd.state.store
        book = store.book_named(name)
        assert book is not None, f"no address book {name!r}"
        return {(store.contacts[i].email or ""): dict(store.contacts[i].data) for i in book.members}

    def expected(self, name: str, *, only_eligible: bool = True) -> dict[str, dict[str, Any]]:
        """What the book should hold for a list: email -> data fields, from Dataverse rows."""
        state = self.dv.state
        list_id = self.lists[name]
        list_row = state.row("list", list_id)
        assert list_row is not None
        entity = {1: "account", 2: "contact", 4: "lead"}[list_row["createdfromcode"]]
        if list_row["type"]:
            members = list(_query_rows(state, entity, "Seattle"))
        else:
            members = [state.row(entity, m) for m in state.list_members(list_id)]
        books: dict[str, dict[str, Any]] = {}
        for row in members:
            assert row is not None
            if only_eligible and row["statecode"] != 0:
                continue
            email = row.get("emailaddress1")
            if not email:
                continue
            books[email] = _expected_fields(state, entity, row)
        return books


def _query_rows(state: Any, entity: str, city: str) -> Iterator[dict[str, Any]]:
    for row_id in list(state.table(entity).rows):
        row = state.row(entity, row_id)
        if row and row.get("address1_city") == city and row["statecode"] == 0:
            yield row


def _expected_fields(state: Any, entity: str, row: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if entity in ("contact", "lead"):
        for label, column in (("FIRSTNAME", "firstname"), ("LASTNAME", "lastname"),
                              ("FULLNAME", "fullname")):  # fmt: skip
            if row.get(column):
                fields[label] = row[column]
    if entity == "contact":
        fields["JOBROLE"] = row.get("jobtitle") or ROLE_DEFAULT
        parent = row.get("_parentcustomerid_value")
        account = state.row("account", parent) if parent else None
        fields["COMPANY"] = (account or {}).get("name") or COMPANY_DEFAULT
    if entity == "lead":
        fields["COMPANY"] = row.get("companyname") or COMPANY_DEFAULT
    return fields


@dataclass(frozen=True)
class Sizes:
    contacts: int = 300
    leads: int = 200
    accounts: int = 30
    newsletter: int = 250  # contacts
    prospects: int = 150  # leads
    partners: int = 20  # accounts


BIG = Sizes(contacts=3300, leads=2200, accounts=150, newsletter=3000, prospects=2000)  # fmt: skip


@pytest.fixture
def sizes() -> Sizes:
    return Sizes()


@pytest.fixture
def world(
    sizes: Sizes, sync_runtime: Runtime, acme: EmailAccount, host: LocalHost,
    clock: ManualClock, dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> World:  # fmt: skip
    rt = sync_runtime
    seeded = dataverse_sandbox.state.seed_data(
        contacts=sizes.contacts, leads=sizes.leads, accounts=sizes.accounts,
        lists=[("Newsletter", "contact", sizes.newsletter),
               ("Prospects", "lead", sizes.prospects),
               ("Partners", "account", sizes.partners),
               ListSpec("Seattle", "contact", dynamic=True)],
    )  # fmt: skip
    # The platform's fields and our labels, as a DataLabels sync leaves them.
    for name in ("COMPANY", "JOBROLE"):
        dotdigital_sandbox.state.data_fields.append(DataFieldRecord(name, "String"))
    rt.data_labels.save(
        "acme",
        DataLabel(
            name="COMPANY",
            default_value=COMPANY_DEFAULT,
            origin=LabelOrigin.PLATFORM,
            is_synchronised=True,
        ),
    )
    rt.data_labels.save(
        "acme",
        DataLabel(
            name="JOBROLE",
            default_value=ROLE_DEFAULT,
            origin=LabelOrigin.PLATFORM,
            is_synchronised=True,
        ),
    )
    for name in ("FIRSTNAME", "LASTNAME", "FULLNAME"):
        rt.data_labels.save("acme", DataLabel(name=name, origin=LabelOrigin.PLATFORM,
                                              is_synchronised=True))  # fmt: skip
    rt.crm_fields.upsert("acme", marketing_crm_fields())
    for mapping in default_mappings():
        rt.mappings.create("acme", mapping)
    for mapping in (
        DataMapping(label="JOBROLE", entity=MappedEntity.CONTACT, primary_field="jobtitle"),
        DataMapping(label="COMPANY", entity=MappedEntity.CONTACT, primary_field="parentcustomerid",
                    linked_entity="account", linked_field="name"),
        DataMapping(label="COMPANY", entity=MappedEntity.LEAD, primary_field="companyname"),
    ):  # fmt: skip
        admin.add_mapping(rt, "acme", mapping)
    return World(rt, host, clock, dataverse_sandbox, dotdigital_sandbox, seeded.lists)


def _calls(sandbox: DataverseSandbox | DotdigitalSandbox, method: str, template: str) -> int:
    return sandbox.state.counters.count(method, template)


def _snapshot(rt: Runtime, list_id: str) -> dict[str, Any]:
    repo: ListMemberRepository = list_members(rt)
    return {m.member_id: m for m in repo.iter_members("acme", list_id)}


def _active_members(world: World, name: str, entity: str = "contact") -> list[dict[str, Any]]:
    """The list's open/active members with an email, in a stable order."""
    state = world.dv.state
    rows = [state.row(entity, m) for m in sorted(state.list_members(world.lists[name]))]
    return [r for r in rows if r and r["statecode"] == 0 and r.get("emailaddress1")]


def _new_imports(dd: DotdigitalSandbox, before: set[str]) -> list[int]:
    sizes = []
    for job_id, job in dd.state.imports.items():
        if job_id in before:
            continue
        summary = (job.result or {}).get("summary", {})
        sizes.append(summary.get("newContacts", 0) + summary.get("updatedContacts", 0))
    return sizes


# First push, then an increment -------------------------------------------------------------


@pytest.mark.parametrize("sizes", [BIG])
def test_first_push_then_only_what_changed(world: World, dataverse_client: DataverseClient) -> None:
    world.activate("Newsletter")
    world.activate("Prospects")
    dv, dd, state = world.dv, world.dd, world.dv.state

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    expected = {name: world.expected(name) for name in ("Newsletter", "Prospects")}
    for name, members in expected.items():
        assert len(members) > 1000
        assert world.book(name) == members
    contacts_sent, leads_sent = len(expected["Newsletter"]), len(expected["Prospects"])
    assert dd.state.store.count() == contacts_sent + leads_sent  # nobody else was created
    details = world.details(audit)
    assert set(details) == {"Newsletter", "Prospects"}
    news, leads = details["Newsletter"], details["Prospects"]
    assert news.status is AuditStatus.COMPLETED
    assert (news.counts.read, news.counts.created, news.counts.updated) == (3000, contacts_sent, 0)
    assert (news.counts.deleted, news.counts.failed) == (0, 0)
    assert f"{3000 - contacts_sent} not sent as not open/active" in news.message
    assert (leads.counts.read, leads.counts.created) == (2000, leads_sent)
    assert audit.counts.created == contacts_sent + leads_sent
    # Protocol minimum: one member page per list (<= 5000), one $batch for the parent accounts
    # of the contact page, one import per list, one address book created per list.
    assert _calls(dv, "GET", NAVIGATION_TEMPLATE) == 2
    assert _calls(dv, "POST", BATCH_TEMPLATE) == 1
    assert _calls(dd, "PUT", IMPORT) == 2
    assert _calls(dd, "POST", ADDRESS_BOOKS) == 2
    assert sorted(_new_imports(dd, set())) == sorted([contacts_sent, leads_sent])
    link = list_links(world.rt).by_list("acme", world.lists["Newsletter"])
    assert link is not None and link.origin == "Dynamics"
    book = dd.state.store.book_named("Newsletter")
    assert book is not None and book.visibility == "Private" and book.id == link.address_book_id
    assert len(_snapshot(world.rt, world.lists["Newsletter"])) == contacts_sent

    # A few changes in Dynamics.
    newsletter = world.lists["Newsletter"]
    members = _active_members(world, "Newsletter")
    by_parent: dict[str, list[str]] = {}
    for row in members:
        if row.get("_parentcustomerid_value"):
            by_parent.setdefault(row["_parentcustomerid_value"], []).append(row["contactid"])
    renamed, affected = min(by_parent.items(), key=lambda item: len(item[1]))
    others = [r for r in members if r["contactid"] not in affected]
    retitled, removed, deactivated, untouched = others[:4]
    new_id = state.insert("contact", {
        "firstname": "Nia", "lastname": "Okoro", "emailaddress1": "nia.okoro@example.com",
        "parentcustomerid_account@odata.bind": f"/accounts({renamed})",
    })  # fmt: skip
    state.add_list_member(newsletter, new_id)
    state.update("contact", retitled["contactid"], {"jobtitle": "Chief Roaster"})
    state.update("account", renamed, {"name": "Renamed Roasters"})
    dataverse_client.remove_list_member(newsletter, MemberType.CONTACT, removed["contactid"])
    state.update("contact", deactivated["contactid"], {"statecode": 1, "statuscode": 2})
    state.update("contact", untouched["contactid"], {"telephone1": "+1 555 0000000"})  # unmapped
    lead_rows = _active_members(world, "Prospects", "lead")
    disqualified, moved = lead_rows[:2]
    state.update("lead", disqualified["leadid"], {"statecode": 2, "statuscode": 4})
    state.update("lead", moved["leadid"], {"emailaddress1": "moved.lead@example.org"})
    before = set(dd.state.imports)
    reads_before = _calls(dv, "GET", NAVIGATION_TEMPLATE)

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    news_book, leads_book = world.book("Newsletter"), world.book("Prospects")
    assert news_book == world.expected("Newsletter")
    assert leads_book == world.expected("Prospects")
    assert news_book["nia.okoro@example.com"]["COMPANY"] == "Renamed Roasters"
    assert news_book[retitled["emailaddress1"]]["JOBROLE"] == "Chief Roaster"
    assert removed["emailaddress1"] not in news_book
    assert deactivated["emailaddress1"] not in news_book
    assert moved["emailaddress1"] not in leads_book and "moved.lead@example.org" in leads_book
    assert disqualified["emailaddress1"] not in leads_book
    # Only the changed members were sent: the new one, the retitled one, the renamed account's
    # contacts (a linked-field change), the lead under its new email; no unmapped change.
    assert sorted(_new_imports(dd, before)) == sorted([2 + len(affected), 1])
    details = world.details(audit)
    assert details["Newsletter"].counts.model_dump() == {
        "read": 3000, "created": 1, "updated": 1 + len(affected), "deleted": 2, "failed": 0,
    }  # fmt: skip
    # The lead under its new email is a new Dotdigital contact but the same member: updated.
    assert (details["Prospects"].counts.created, details["Prospects"].counts.updated) == (0, 1)
    assert details["Prospects"].counts.deleted == 1
    assert _calls(dv, "GET", NAVIGATION_TEMPLATE) - reads_before == 2  # one page per list
    assert _calls(dd, "POST", ADDRESS_BOOK_CONTACTS_DELETE) == 2  # one removal job per list


# The open/active setting -------------------------------------------------------------------


def test_setting_off_sends_inactive_members_and_back_on_removes_them(world: World) -> None:
    world.activate("Newsletter")
    world.activate("Prospects")
    rt = world.rt
    account = rt.accounts.get("acme")
    assert account is not None
    rt.accounts.save(account.model_copy(update={"sync_only_open_leads_and_active_contacts": False}))

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    every = {
        name: world.expected(name, only_eligible=False) for name in ("Newsletter", "Prospects")
    }
    for name, members in every.items():
        assert world.book(name) == members
        assert len(members) > len(world.expected(name))  # inactive / not open ones were sent
    assert "not open/active" not in world.details(audit)["Newsletter"].message

    rt.accounts.save(account)  # back on: applies to the lists synced from now on
    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    for name in ("Newsletter", "Prospects"):
        assert world.book(name) == world.expected(name)
        detail = world.details(audit)[name]
        assert detail.counts.deleted == len(every[name]) - len(world.expected(name))
        assert detail.counts.created == detail.counts.updated == 0


# Dynamic lists -----------------------------------------------------------------------------


def test_dynamic_list_follows_its_query(world: World) -> None:
    world.activate("Seattle")
    state = world.dv.state

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    first = world.expected("Seattle")
    assert len(first) > 5 and world.book("Seattle") == first
    moved, deactivated = sorted(first)[:2]
    rows = {row["emailaddress1"]: row for row in _query_rows(state, "contact", "Seattle")}
    state.update("contact", rows[moved]["contactid"], {"address1_city": "Paris"})
    state.update("contact", rows[deactivated]["contactid"], {"statecode": 1, "statuscode": 2})
    state.insert("contact", {"firstname": "Sol", "lastname": "Reyes", "address1_city": "Seattle",
                             "emailaddress1": "sol.reyes@example.com"})  # fmt: skip

    audit = world.run()

    book = world.book("Seattle")
    assert book == world.expected("Seattle")
    assert moved not in book and deactivated not in book and "sol.reyes@example.com" in book
    detail = world.details(audit)["Seattle"]
    assert (detail.counts.created, detail.counts.deleted) == (1, 2)
    # Both contacts stay in the account: only their membership of the book ended.
    assert world.dd.state.store.by_email(moved) is not None


def test_a_dynamic_list_whose_query_cannot_be_read_fails_alone(world: World) -> None:
    world.activate("Seattle")
    world.activate("Newsletter")
    world.dv.state.update("list", world.lists["Seattle"], {"query": "<fetch><entity name="})

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    seattle = world.details(audit)["Seattle"]
    assert seattle.status is AuditStatus.FAILED
    assert "not well-formed FetchXML" in seattle.message
    assert world.book("Newsletter") == world.expected("Newsletter")


# Membership actions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", [MembershipAction.REMOVE_UNLISTED, MembershipAction.IGNORE_UNLISTED]
)
def test_address_book_members_not_in_the_list(world: World, action: MembershipAction) -> None:
    world.activate("Newsletter", action)
    world.run()
    store = world.dd.state.store
    with world.dd.state.lock:
        stranger = store.add_contact("stranger@example.net", when=world.dd.state.now())
        book = store.book_named("Newsletter")
        assert book is not None
        store.join(book, stranger, world.dd.state.now())

    audit = world.run()

    members = world.book("Newsletter")
    if action is MembershipAction.REMOVE_UNLISTED:
        assert members == world.expected("Newsletter")
        detail = world.details(audit)["Newsletter"]
        assert detail.counts.deleted == 1
        assert "1 removed, 1 not in the marketing list" in detail.message
        assert audit.message.startswith("1 marketing list: 0 members sent, 1 removed")
    else:
        assert members == {**world.expected("Newsletter"), "stranger@example.net": {}}
        assert (audit.status, audit.message) == (AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
        assert world.details(audit) == {}
    assert store.by_email("stranger@example.net") is not None  # the contact itself stays


# Audit -------------------------------------------------------------------------------------


def test_lists_that_cannot_be_synced_are_reported_with_the_product_messages(
    world: World,
) -> None:
    for name in ("Newsletter", "Prospects", "Partners"):
        world.activate(name)
    audit = world.run()
    assert set(world.details(audit)) == {"Newsletter", "Prospects", "Partners"}
    prospects_book = world.book("Prospects")
    world.activate("Prospects", account="emea")  # now another email account's list
    world.dv.state.delete("list", world.lists["Partners"])

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    details = world.details(audit)
    assert set(details) == {"Prospects", "Partners"}  # Newsletter: nothing new
    assert details["Prospects"].status is AuditStatus.FAILED
    assert details["Prospects"].message == Messages.LIST_ACCOUNT_MISMATCH
    assert details["Partners"].message == Messages.LIST_NULL
    assert Messages.LIST_ACCOUNT_MISMATCH in audit.message and Messages.LIST_NULL in audit.message
    assert world.book("Prospects") == prospects_book  # not synced, left as it was
    links = list_links(world.rt)
    assert links.by_list("acme", world.lists["Partners"]) is None  # the deleted list: unlinked
    assert links.by_list("acme", world.lists["Prospects"]) is not None

    world.dv.state.update("list", world.lists["Newsletter"], {"statecode": 1, "statuscode": 1})
    audit = world.run()

    # Only the mismatched list was tried, and it failed; the deleted one was reported once.
    assert audit.status is AuditStatus.FAILED
    assert set(world.details(audit)) == {"Prospects"}


def test_nothing_to_sync_and_the_data_labels_gate(world: World) -> None:
    audit = world.run()  # no email-activated list at all
    assert (audit.status, audit.message) == (AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)

    world.activate("Newsletter")
    labels = world.rt.schedules.get("acme", SyncType.DATA_LABELS)
    labels.last_status = AuditStatus.FAILED.value
    world.rt.schedules.save(labels)
    reads = _calls(world.dv, "GET", COLLECTION_TEMPLATE)

    audit = world.run()

    assert (audit.status, audit.message) == (AuditStatus.FAILED, Messages.DATA_LABELS_FAILED)
    assert _calls(world.dv, "GET", COLLECTION_TEMPLATE) == reads  # nothing was read
    assert world.dd.state.store.book_named("Newsletter") is None


def test_failed_import_fails_its_list_and_refused_members_are_named(world: World) -> None:
    world.activate("Newsletter")
    world.activate("Prospects")
    bad = _active_members(world, "Newsletter")[0]
    world.dv.state.update("contact", bad["contactid"], {"emailaddress1": "not-an-email"})
    world.dd.state.fail_next_import("RejectedByWatchdog")

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    details = world.details(audit)
    failed = [name for name, d in details.items() if d.status is AuditStatus.FAILED]
    assert len(failed) == 1 and "RejectedByWatchdog" in details[failed[0]].message
    [other] = set(details) - set(failed)
    assert world.book(other) == (
        {k: v for k, v in world.expected(other).items() if k != "not-an-email"}
    )

    audit = world.run()  # the failed list is pushed in full; the bad address fails again

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    news = world.details(audit)["Newsletter"]
    assert news.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert news.counts.failed == 1 and "not-an-email: InvalidEmail" in news.message
    for name in ("Newsletter", "Prospects"):
        expected = {k: v for k, v in world.expected(name).items() if k != "not-an-email"}
        assert world.book(name) == expected


# Interrupted runs --------------------------------------------------------------------------


class WorkerKilled(BaseException):
    """The process dies: nothing in the worker or the host catches this."""


def _run_to_the_end(world: World) -> int:
    """Deliver messages until the run is over; returns how many times a worker was killed."""
    rt, kills = world.rt, 0
    deadline = time.monotonic() + 45
    while rt.schedules.get("acme", OUT).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "the run never finished"
        try:
            handled = world.host.process_once()
        except WorkerKilled:
            kills += 1
            world.clock.advance(seconds=rt.settings.run_lease_seconds + 1)  # the lease runs out
            continue
        if not handled:
            time.sleep(0.2)  # a continuation or a redelivery becomes visible shortly
    return kills


def _slice_small(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages and import rounds of 100 members, a time budget that pauses after each, and
    follow-up messages and redeliveries that come back quickly."""
    world.rt.registry = catalogue().replaced(MarketingListsDataOut(page_size=100, flush_at=100))
    world.rt.settings = world.rt.settings.model_copy(update={"continuation_delay_seconds": 0.0})
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    world.host = build_host(world.rt, visibility=timedelta(seconds=1), max_deliveries=3)


def test_run_killed_mid_list_ends_like_an_uninterrupted_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.activate("Newsletter")
    _slice_small(world, monkeypatch)
    repo = list_members(world.rt)
    writes = 0
    upsert = repo.upsert_many

    def dies_after_the_second_import(*args: Any, **kwargs: Any) -> int:
        nonlocal writes
        writes += 1
        if writes == 2:  # its import has Finished, its snapshot is not written yet
            raise WorkerKilled()
        return upsert(*args, **kwargs)

    monkeypatch.setattr(repo, "upsert_many", dies_after_the_second_import)
    admin.sync_now(world.rt, "acme", OUT)

    assert _run_to_the_end(world) == 1

    expected = world.expected("Newsletter")
    assert world.book("Newsletter") == expected
    store = world.dd.state.store
    assert store.count() == len(expected)  # no contact twice
    book = store.book_named("Newsletter")
    assert book is not None and len(book.members) == len(expected)
    assert len(_snapshot(world.rt, world.lists["Newsletter"])) == len(expected)
    [audit] = world.rt.audit.recent("acme", sync_type=OUT)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    # Counted once, as an unkilled first push would: every member new, none updated.
    assert (audit.counts.created, audit.counts.updated) == (len(expected), 0)
    # Three pages; the killed round's import was polled again from its checkpoint, not resent.
    assert _calls(world.dd, "PUT", IMPORT) == 3
    assert _calls(world.dv, "GET", NAVIGATION_TEMPLATE) == 3 + 1


def test_a_dynamic_list_read_in_slices_requests_each_query_page_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.activate("Seattle")
    _slice_small(world, monkeypatch)
    world.rt.registry = catalogue().replaced(MarketingListsDataOut(page_size=5, flush_at=5))
    rows = len(list(_query_rows(world.dv.state, "contact", "Seattle")))
    world.dv.state.counters.reset()
    admin.sync_now(world.rt, "acme", OUT)

    _run_to_the_end(world)

    [audit] = world.rt.audit.recent("acme", sync_type=OUT)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    # Company names come through the contacts' parent account (a lookup column).
    assert world.book("Seattle") == world.expected("Seattle")
    pages = []
    for call in world.dv.state.counters.calls("GET", COLLECTION_TEMPLATE):
        fetch = parse_qs(call.query).get("fetchXml")
        if fetch:
            pages.append(int(fetch[0].split(' page="', 1)[1].split('"', 1)[0]))
    # One request per page of the query, in order, over several slices: none read twice.
    assert pages == list(range(1, -(-rows // 5) + 1)) and len(pages) > 2


def test_removals_found_when_the_pages_were_read_in_several_slices(
    world: World, monkeypatch: pytest.MonkeyPatch, dataverse_client: DataverseClient
) -> None:
    world.activate("Newsletter")
    world.run()
    members = _active_members(world, "Newsletter")
    newsletter = world.lists["Newsletter"]
    dataverse_client.remove_list_member(newsletter, MemberType.CONTACT, members[0]["contactid"])
    world.dv.state.update("contact", members[1]["contactid"], {"jobtitle": "Barista"})
    _slice_small(world, monkeypatch)
    reads = _calls(world.dv, "GET", NAVIGATION_TEMPLATE)
    world.clock.advance(minutes=1)  # audit rows are ordered by start time
    admin.sync_now(world.rt, "acme", OUT)

    _run_to_the_end(world)

    assert world.book("Newsletter") == world.expected("Newsletter")
    audit = latest(world.rt, "acme", OUT)
    detail = world.details(audit)["Newsletter"]
    assert (detail.counts.updated, detail.counts.deleted) == (1, 1)
    # 249 members in pages of 100, read once to push and once more to find who left.
    assert _calls(world.dv, "GET", NAVIGATION_TEMPLATE) - reads == 3 + 3


@pytest.mark.parametrize(
    "action", [MembershipAction.IGNORE_UNLISTED, MembershipAction.REMOVE_UNLISTED]
)
def test_a_dry_run_first_push_names_what_it_would_create_and_creates_nothing(
    world: World, action: MembershipAction
) -> None:
    world.activate("Newsletter", action)
    expected = world.expected("Newsletter")

    assert admin.sync_now(world.rt, "acme", OUT, dry_run=True).accepted
    world.host.drain()

    [audit] = world.rt.audit.recent("acme", sync_type=OUT)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert world.dd.state.store.book_named("Newsletter") is None
    assert world.dd.state.store.count() == 0
    assert _snapshot(world.rt, world.lists["Newsletter"]) == {}
    assert list_links(world.rt).for_account("acme") == []
    details = world.details(audit)
    assert details["Would create address book (Dotdigital)"].message == "1 in all; e.g. Newsletter"
    assert details["Would import contacts (Dotdigital)"].counts.read == len(expected)
    assert audit.counts.created + audit.counts.updated == len(expected)

    world.clock.advance(minutes=1)
    record_reads = _calls(world.dv, "GET", RECORD_TEMPLATE)
    real = world.run()

    assert real.status is AuditStatus.COMPLETED, real.message
    assert world.book("Newsletter") == expected
    # The plan's read of the lists serves the push: no list is read again by id.
    assert _calls(world.dv, "GET", RECORD_TEMPLATE) == record_reads


# Time budget ---------------------------------------------------------------------------------


def _bounded_slices(world: World, budget: float, http_timeout: float) -> None:
    """A real time budget, an HTTP timeout and a lease that fits them (as settings require)."""
    world.rt.settings = world.rt.settings.model_copy(
        update={
            "run_time_budget_seconds": budget,
            "http_timeout_seconds": http_timeout,
            "slice_margin_seconds": 1.0,
            "run_lease_seconds": budget + http_timeout + 5,
            "continuation_delay_seconds": 0.0,
            "run_retry_delay_seconds": 0.0,
        }
    )
    world.rt.registry = catalogue().replaced(MarketingListsDataOut(page_size=500, flush_at=500))
    world.host = build_host(world.rt, visibility=timedelta(seconds=1), max_deliveries=3)


@pytest.mark.parametrize("held", [2.0, 4.0])  # each answer within the budget, or longer
def test_a_slow_api_cannot_keep_a_slice_past_its_budget_and_the_run_completes_later(
    world: World, held: float
) -> None:
    world.activate("Newsletter")
    budget, http_timeout = 3.0, 5.0
    _bounded_slices(world, budget, http_timeout)
    world.dd.state.faults.latency_seconds = held  # every Dotdigital answer held this long
    admin.sync_now(world.rt, "acme", OUT)

    started = time.monotonic()
    assert world.host.process_once()
    slice_seconds = time.monotonic() - started

    # Before the fix this slice ran until the whole list was pushed (~40 s of 2 s answers).
    assert slice_seconds < budget + http_timeout
    assert world.rt.schedules.get("acme", OUT).status is ScheduleStatus.QUEUED  # continues
    world.dd.state.faults.latency_seconds = 0.0
    assert _run_to_the_end(world) == 0
    audit = latest(world.rt, "acme", OUT)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert world.book("Newsletter") == world.expected("Newsletter")
    assert audit.counts.created == len(world.expected("Newsletter"))


def test_an_import_longer_than_a_slice_is_polled_across_slices_and_sent_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.activate("Newsletter")
    _bounded_slices(world, budget=2.0, http_timeout=5.0)
    monkeypatch.setattr(list_push, "IMPORT_POLL_SECONDS", 2.5)  # never fits in a slice
    world.dd.state.import_not_finished_polls = 3
    admin.sync_now(world.rt, "acme", OUT)
    imports_before = _calls(world.dd, "PUT", IMPORT)

    slices = 0
    deadline = time.monotonic() + 120
    while world.rt.schedules.get("acme", OUT).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "the run never finished"
        if world.host.process_once():
            slices += 1
        else:
            time.sleep(0.2)

    audit = latest(world.rt, "acme", OUT)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    expected = world.expected("Newsletter")
    assert world.book("Newsletter") == expected
    rounds = -(-len(expected) // 500)
    assert _calls(world.dd, "PUT", IMPORT) - imports_before == rounds  # each sent once
    assert slices > rounds  # the imports were waited for in later slices
    assert (audit.counts.created, audit.counts.updated) == (len(expected), 0)


# Dotdigital unreachable ----------------------------------------------------------------------


def test_dotdigital_unreachable_at_connect_names_every_list(world: World) -> None:
    world.activate("Newsletter")
    world.activate("Prospects")
    world.dd.state.faults.set_error_rate(500, 1.0)  # account-info answers 500, retries included

    audit = world.run()

    assert audit.status is AuditStatus.FAILED
    details = world.details(audit)
    assert set(details) == {"Newsletter", "Prospects"}  # the lists' names, not their ids
    for detail in details.values():
        assert detail.status is AuditStatus.FAILED
        assert detail.message.startswith("Dotdigital: GET /v2/account-info")
        assert "Address book" not in detail.message and ".." not in detail.message
    error = details["Newsletter"].message
    assert audit.message == (
        f"2 marketing lists: 0 members sent, 0 removed, 0 failed. Newsletter, Prospects: {error}"
    )


def test_a_list_that_failed_at_connect_is_named_beside_one_that_was_pushed(world: World) -> None:
    world.activate("Newsletter")
    world.activate("Prospects")
    world.dd.state.faults.fail_next(401)  # the first connect is refused, the next one works

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    details = world.details(audit)
    [failed] = [d for d in details.values() if d.status is AuditStatus.FAILED]
    [pushed] = [d for d in details.values() if d.status is AuditStatus.COMPLETED]
    assert {failed.item, pushed.item} == {"Newsletter", "Prospects"}
    assert failed.message.startswith("Dotdigital") and "Address book" not in failed.message
    assert pushed.message.startswith(f"Address book '{pushed.item}': ")
    assert audit.message.endswith(f"failed. {failed.item}: {_sentence(failed.message)}")
    assert world.book(pushed.item) == world.expected(pushed.item)


def _sentence(text: str) -> str:
    return text if text.endswith(".") else f"{text}."
