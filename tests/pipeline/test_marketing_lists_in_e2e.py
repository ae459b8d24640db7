"""MarketingListsDataIn through the pipeline (timer -> queue -> worker) against both sandboxes.

Each test starts from what a finished MarketingListsDataOut leaves behind: a static contact
list and a static lead list in Dynamics, linked to address books holding the same values, and
the member snapshot of what both sides agreed. Then one side or both change, and DataIn runs.
The runtime's clock and the sandboxes' clock are kept in step, so the watermark (our clock)
and Dotdigital's `updated` (its clock) compare as they would in production.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.app import BATCH_TEMPLATE
from sandbox.dotdigital.api_contacts import CONTACTS
from sandbox.dotdigital.state import DataFieldRecord, DotdigitalState
from shared.accounts import EmailAccount
from shared.audit import AuditRecord, AuditStatus, Messages
from shared.clients import DataverseClient
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.mappings.model import DataMapping, MappedEntity, MappingDirection, default_mappings
from shared.pipeline import admin
from shared.runtime import Runtime, install_runtime
from shared.storage.crm_fields_repo import CrmField
from shared.storage.data_labels_repo import DataLabel, LabelOrigin, label_key
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.data_in import WATERMARK_KEY, MarketingListsDataIn
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.marketing_lists.snapshot_repo import MemberSnapshot, list_members
from shared.sync.marketing_lists.values import outbound, platform_values, values_hash
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, latest, run_scheduled

DATA_IN = SyncType.MARKETING_LISTS_DATA_IN
PEOPLE = (
    ("contact", "Ada", "Lovelace", "ada@example.com"),
    ("contact", "Alan", "Turing", "alan@example.com"),
    ("contact", "Grace", "Hopper", "grace@example.com"),
    ("lead", "Linus", "Pauling", "linus@example.com"),
    ("lead", "Rosalind", "Franklin", "rosalind@example.com"),
)
JOBROLE = "JOBROLE"  # a custom platform field mapped ToDynamics to jobtitle


@dataclass
class World:
    """The synced state a test starts from, and handles to change either side."""

    rt: Runtime
    dataverse: DataverseSandbox
    dotdigital: DotdigitalSandbox
    sandbox_clock: SandboxClock
    clock: ManualClock
    ids: dict[str, str]  # email -> CRM id
    lists: dict[str, str]  # "contact" / "lead" -> CRM list id
    books: dict[str, int]  # "contact" / "lead" -> address book id

    @property
    def dd(self) -> DotdigitalState:
        return self.dotdigital.state

    def crm(self, email: str) -> dict[str, Any]:
        entity = "lead" if email.startswith(("linus", "rosalind")) else "contact"
        row = self.dataverse.state.row(entity, self.ids[email])
        assert row is not None
        return row

    def change_crm(self, email: str, **values: Any) -> None:
        """A CRM user edits the record now (sandbox time): `modifiedon` is now."""
        entity = "lead" if email.startswith(("linus", "rosalind")) else "contact"
        self.dataverse.state.update(entity, self.ids[email], values)

    def change_platform(self, email: str, *, updated: float | None = None, **data: Any) -> None:
        """A platform user edits the contact; `updated` is now unless given."""
        with self.dd.lock:
            contact = self.dd.store.by_email(email)
            assert contact is not None
            contact.data.update(data)
            contact.updated = self.sandbox_clock.now() if updated is None else updated

    def platform(self, email: str) -> dict[str, Any]:
        with self.dd.lock:
            contact = self.dd.store.by_email(email)
            assert contact is not None
            return dict(contact.data)

    def snapshot(self, entity: str, email: str) -> MemberSnapshot:
        members = list_members(self.rt).load("acme", self.lists[entity])
        return members[self.ids[email]]

    def run(self, host: LocalHost, sync_type: SyncType = DATA_IN) -> AuditRecord:
        """One scheduled run, with the sandboxes' time moved to the run's time first."""
        record = self.rt.schedules.get("acme", sync_type)
        if record.spec != EVERY_5:
            admin.set_schedule(self.rt, "acme", sync_type, EVERY_5)
            record = self.rt.schedules.get("acme", sync_type)
        assert record.next_sync is not None
        self.catch_up(record.next_sync)
        return run_scheduled(self.rt, host, self.clock, "acme", sync_type)

    def catch_up(self, moment: datetime) -> None:
        behind = moment.timestamp() - self.sandbox_clock.now()
        if behind > 0:
            self.sandbox_clock.advance(behind)


def labels() -> list[DataLabel]:
    return [
        DataLabel(name=name, origin=LabelOrigin.PLATFORM, is_synchronised=True, is_private=False)
        for name in ("FIRSTNAME", "LASTNAME", "FULLNAME", JOBROLE)
    ]


def mappings() -> list[DataMapping]:
    """Defaults (ToPlatform), with LASTNAME two-way and JOBROLE -> contact.jobtitle inbound."""
    chosen = [m for m in default_mappings() if m.label != "LASTNAME"]
    chosen += [
        DataMapping(
            label="LASTNAME", entity=entity, primary_field="lastname",
            direction=MappingDirection.BOTH,
        )
        for entity in (MappedEntity.CONTACT, MappedEntity.LEAD)
    ]  # fmt: skip
    chosen.append(
        DataMapping(
            label=JOBROLE,
            entity=MappedEntity.CONTACT,
            primary_field="jobtitle",
            direction=MappingDirection.TO_DYNAMICS,
        )
    )
    return chosen


def build_world(
    rt: Runtime,
    dataverse: DataverseSandbox,
    dotdigital: DotdigitalSandbox,
    sandbox_clock: SandboxClock,
    clock: ManualClock,
) -> World:
    """Both sides synced, as DataOut would leave them."""
    dv, dd = dataverse.state, dotdigital.state
    # Our clock starts two minutes after the sandboxes' "now", when all this was synced.
    clock.now = datetime.fromtimestamp(sandbox_clock.now(), UTC) + timedelta(minutes=2)
    for label in labels():
        rt.data_labels.save("acme", label)
    dd.data_fields.append(DataFieldRecord(JOBROLE, "String"))
    for mapping in mappings():
        rt.mappings.create("acme", mapping)
    rt.crm_fields.upsert(
        "acme",
        [
            CrmField(entity=e, logical_name=f, display_name=f, attribute_type="String")
            for e in ("contact", "lead")
            for f in ("firstname", "lastname", "jobtitle", "emailaddress1")
        ],
    )
    by_key = {label_key(label.name): label for label in labels()}
    ids: dict[str, str] = {}
    lists: dict[str, str] = {}
    books: dict[str, int] = {}
    for entity, code in (("contact", 2), ("lead", 4)):
        name = f"Newsletter {entity}s"
        lists[entity] = dv.insert(
            "list",
            {
                "listname": name,
                "createdfromcode": code,
                "dms_emailaccountid": "acme",
                "dms_emailactivated": True,
            },
        )
        with dd.lock:
            book = dd.store.add_book(name)
        books[entity] = book.id
        list_links(rt).save(
            "acme",
            ListLink(
                list_id=lists[entity],
                list_name=name,
                member_type=entity,
                address_book_id=book.id,
                address_book_name=name,
                origin="Dynamics",
            ),
        )
        snapshot: list[MemberSnapshot] = []
        for kind, first, last, email in PEOPLE:
            if kind != entity:
                continue
            member_id = dv.insert(
                entity, {"firstname": first, "lastname": last, "emailaddress1": email}
            )
            ids[email] = member_id
            dv.add_list_member(lists[entity], member_id)
            row = dv.row(entity, member_id)
            assert row is not None
            sent = platform_values(row, outbound(mappings(), MappedEntity(entity)), by_key)
            with dd.lock:
                contact = dd.store.add_contact(email, when=sandbox_clock.now(), data=sent)
                dd.store.join(book, contact, sandbox_clock.now())
            snapshot.append(
                MemberSnapshot(
                    member_id=member_id,
                    email=email,
                    values_hash=values_hash(email, sent),
                    synced_values=sent,
                    contact_id=contact.id,
                )
            )
        list_members(rt).upsert_many("acme", lists[entity], snapshot)
    return World(rt, dataverse, dotdigital, sandbox_clock, clock, ids, lists, books)


@pytest.fixture
def world(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox, sandbox_clock: SandboxClock, clock: ManualClock,
) -> World:  # fmt: skip
    return build_world(sync_runtime, dataverse_sandbox, dotdigital_sandbox, sandbox_clock, clock)


def test_platform_changes_of_inbound_fields_reach_contacts_and_leads(
    world: World, host: LocalHost
) -> None:
    world.sandbox_clock.advance(10)
    world.change_platform("ada@example.com", LASTNAME="King", FIRSTNAME="Augusta")
    world.change_platform("alan@example.com", JOBROLE="Codebreaker")
    world.change_platform("linus@example.com", LASTNAME="Pauling-Jones")

    audit = world.run(host)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    ada = world.crm("ada@example.com")
    assert ada["lastname"] == "King"  # Both: written
    assert ada["firstname"] == "Ada"  # ToPlatform: DataIn never writes it
    assert world.crm("alan@example.com")["jobtitle"] == "Codebreaker"  # ToDynamics
    assert world.crm("linus@example.com")["lastname"] == "Pauling-Jones"  # a lead
    assert world.crm("grace@example.com")["lastname"] == "Hopper"
    # First run: no watermark, every member of both books is read.
    assert (audit.counts.read, audit.counts.updated, audit.counts.failed) == (5, 3, 0)
    details = {d.item: d for d in world.rt.audit.details("acme", audit.row_key)}
    assert details["Newsletter contacts"].counts.updated == 2
    assert details["Newsletter leads"].counts.updated == 1
    # The snapshot holds the agreed value, hashed as DataOut hashes what it sends.
    snap = world.snapshot("contact", "ada@example.com")
    assert snap.synced_values["LASTNAME"] == "King"
    assert snap.synced_values["FIRSTNAME"] == "Ada"
    assert snap.values_hash == values_hash("ada@example.com", snap.synced_values)
    assert JOBROLE not in world.snapshot("contact", "alan@example.com").synced_values


def test_a_change_made_only_in_dynamics_is_left_to_data_out(world: World, host: LocalHost) -> None:
    world.sandbox_clock.advance(10)
    world.change_crm("ada@example.com", lastname="Byron")
    before = world.snapshot("contact", "ada@example.com")

    audit = world.run(host)

    assert audit.status is AuditStatus.COMPLETED
    assert audit.message == Messages.NO_NEW_OBJECTS
    assert (audit.counts.updated, audit.counts.failed) == (0, 0)
    assert world.crm("ada@example.com")["lastname"] == "Byron"
    assert world.platform("ada@example.com")["LASTNAME"] == "Lovelace"
    assert world.snapshot("contact", "ada@example.com") == before
    assert world.rt.audit.details("acme", audit.row_key) == []


@pytest.mark.parametrize("newer", ["platform", "dynamics"])
def test_when_both_sides_changed_the_more_recent_change_wins(
    newer: str, world: World, host: LocalHost
) -> None:
    start = world.sandbox_clock.now()
    world.sandbox_clock.advance(20)
    world.change_crm("ada@example.com", lastname="Byron")  # modifiedon = start + 20
    platform_time = start + (30 if newer == "platform" else 10)
    world.change_platform("ada@example.com", updated=platform_time, LASTNAME="King")
    assert world.crm("ada@example.com")["modifiedon"] == _iso(start + 20)

    audit = world.run(host)

    assert audit.counts.failed == 0
    if newer == "platform":
        assert world.crm("ada@example.com")["lastname"] == "King"
        assert world.snapshot("contact", "ada@example.com").synced_values["LASTNAME"] == "King"
        assert audit.counts.updated == 1
    else:  # left for DataOut, which pushes Byron
        assert world.crm("ada@example.com")["lastname"] == "Byron"
        assert world.snapshot("contact", "ada@example.com").synced_values["LASTNAME"] == (
            "Lovelace"
        )
        assert audit.counts.updated == 0


def test_a_second_run_without_platform_changes_reads_and_writes_nothing(
    world: World, host: LocalHost
) -> None:
    world.change_platform("ada@example.com", LASTNAME="King")
    first = world.run(host)
    assert first.counts.updated == 1
    watermark = world.rt.state.get_value("acme", WATERMARK_KEY)
    assert watermark == first.started.isoformat()
    batches = world.dataverse.state.counters.count("POST", BATCH_TEMPLATE)

    second = world.run(host)

    assert second.status is AuditStatus.COMPLETED
    assert second.message == Messages.NO_NEW_OBJECTS
    assert (second.counts.read, second.counts.updated) == (0, 0)
    assert world.dataverse.state.counters.count("POST", BATCH_TEMPLATE) == batches
    reads = world.dd.counters.calls("GET", CONTACTS)
    assert all("~modified=gte" in call.query for call in reads[-2:])  # one per book

    # A later platform change is picked up by the run after it, and only it is read.
    world.change_platform("grace@example.com", LASTNAME="Murray Hopper")
    third = world.run(host)
    assert (third.counts.read, third.counts.updated) == (1, 1)
    assert world.crm("grace@example.com")["lastname"] == "Murray Hopper"


class HookedRuntime(Runtime):
    """A runtime whose Dataverse client calls `before_send` on each request it sends."""

    def __init__(self, base: Runtime, before_send: Callable[[httpx.Request], None]) -> None:
        super().__init__(base.settings, clock=base.clock, retry=base.retry)
        self._before_send = before_send
        self._hooked: DataverseClient | None = None
        self._http: httpx.Client | None = None
        self._hook_lock = threading.Lock()

    def dataverse(self) -> DataverseClient:
        with self._hook_lock:
            if self._hooked is None:
                bundle = self.settings.http_ca_bundle
                verify = ssl.create_default_context(cafile=str(bundle)) if bundle else True
                http = self._http = httpx.Client(
                    timeout=self.settings.http_timeout_seconds,
                    verify=verify,
                    event_hooks={"request": [self._before_send]},
                )
                self._hooked = DataverseClient.from_settings(
                    self.settings, retry=self.retry, http=http
                )
            return self._hooked

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


def test_a_record_changed_between_read_and_write_fails_and_is_retried_next_run(
    world: World, request: pytest.FixtureRequest
) -> None:
    ada = world.ids["ada@example.com"]
    edited: list[bool] = []

    def someone_edits_ada_first(sent: httpx.Request) -> None:
        """Just before our PATCH of Ada goes out (once), a CRM user saves her record."""
        patch = f"PATCH /api/data/v9.2/contacts({ada})"
        if not edited and sent.url.path.endswith("$batch") and patch in sent.content.decode():
            edited.append(True)
            world.change_crm("ada@example.com", telephone1="+44 20 7946 0000")

    rt = HookedRuntime(world.rt, someone_edits_ada_first)
    request.addfinalizer(rt.close)
    install_runtime(rt)
    world.rt = rt
    host = build_host(rt, visibility=timedelta(seconds=2), max_deliveries=3)
    world.sandbox_clock.advance(90)  # past the seeded contacts' time, and its clock-skew margin
    world.change_platform("ada@example.com", LASTNAME="King")
    world.change_platform("grace@example.com", LASTNAME="Murray Hopper")

    first = world.run(host)

    assert first.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert (first.counts.updated, first.counts.failed) == (1, 1)
    assert f"contact {ada}" in first.message
    assert "doesn't match the RowVersion" in first.message
    assert world.crm("ada@example.com")["lastname"] == "Lovelace"
    assert world.crm("ada@example.com")["telephone1"] == "+44 20 7946 0000"
    assert world.crm("grace@example.com")["lastname"] == "Murray Hopper"
    [detail] = [d for d in rt.audit.details("acme", first.row_key) if d.item.endswith("contacts")]
    assert detail.status is AuditStatus.COMPLETED_WITH_ERRORS and ada in detail.message

    # Nothing changed on the platform since: the watermark stayed at Ada's change, so Ada (and
    # Grace, changed at the same moment) are read again.
    second = world.run(host)

    assert second.status is AuditStatus.COMPLETED, second.message
    assert (second.counts.read, second.counts.updated, second.counts.failed) == (2, 1, 0)
    assert world.crm("ada@example.com")["lastname"] == "King"
    assert world.crm("ada@example.com")["telephone1"] == "+44 20 7946 0000"


def test_lists_that_cannot_sync_get_the_product_messages(world: World, host: LocalHost) -> None:
    world.dataverse.state.update(
        "list", world.lists["lead"], {"dms_emailaccountid": "another-account"}
    )
    world.dataverse.state.delete("list", world.lists["contact"])

    audit = world.run(host)

    details = {d.item: d for d in world.rt.audit.details("acme", audit.row_key)}
    assert details["Newsletter leads"].message == Messages.LIST_ACCOUNT_MISMATCH
    assert details["Newsletter contacts"].message == Messages.LIST_NULL
    assert {d.status for d in details.values()} == {AuditStatus.FAILED}
    assert audit.status is AuditStatus.FAILED
    assert world.dd.counters.count("GET", CONTACTS) == 0


def test_a_failed_data_labels_sync_does_not_hold_back_marketing_lists_data_in(
    world: World, host: LocalHost
) -> None:
    # The gate is the marketing list sync's (MarketingListsDataOut, the two-way run): it keeps
    # values from being pushed to fields the platform may lack. Writing the platform's values
    # into Dynamics needs no new field, so MarketingListsDataIn on its own schedule runs.
    labels_schedule = world.rt.schedules.get("acme", SyncType.DATA_LABELS)
    labels_schedule.last_status = AuditStatus.FAILED.value
    world.rt.schedules.save(labels_schedule)
    world.change_platform("ada@example.com", LASTNAME="King")

    audit = world.run(host)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert world.crm("ada@example.com")["lastname"] == "King"


def test_a_run_sliced_into_continuations_ends_as_an_uninterrupted_one(
    world: World, host: LocalHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    world.change_platform("ada@example.com", LASTNAME="King")
    world.change_platform("linus@example.com", LASTNAME="Pauling-Jones")
    admin.set_schedule(world.rt, "acme", DATA_IN, EVERY_5)
    record = world.rt.schedules.get("acme", DATA_IN)
    assert record.next_sync is not None
    world.catch_up(record.next_sync)
    world.clock.now = record.next_sync
    host.fire_timer("scheduler_tick")
    deadline = time.monotonic() + 30
    while world.rt.schedules.get("acme", DATA_IN).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "the run never finished"
        if not host.process_once():
            time.sleep(0.2)

    audit = latest(world.rt, "acme", DATA_IN)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert (audit.counts.read, audit.counts.updated) == (5, 2)
    assert host.stats.messages_done >= 3  # start, a page per book, the end
    assert world.crm("ada@example.com")["lastname"] == "King"
    assert world.crm("linus@example.com")["lastname"] == "Pauling-Jones"
    assert len(world.rt.audit.details("acme", audit.row_key)) == 2


def test_a_sliced_run_reads_each_page_of_platform_contacts_once(
    world: World, host: LocalHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of one contact and a pause after each: every continuation asks Dotdigital for the
    page after the last one done (its saved marker), never for the pages before it."""
    world.rt.registry = catalogue().replaced(MarketingListsDataIn(page_size=1))
    world.rt.settings = world.rt.settings.model_copy(update={"continuation_delay_seconds": 0.0})
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    world.change_platform("ada@example.com", LASTNAME="King")
    world.change_platform("linus@example.com", LASTNAME="Pauling-Jones")
    world.dd.counters.reset()

    audit = world.run(host)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert (audit.counts.read, audit.counts.updated) == (5, 2)
    assert world.crm("ada@example.com")["lastname"] == "King"
    assert world.crm("linus@example.com")["lastname"] == "Pauling-Jones"
    assert host.stats.messages_done >= 6  # a slice per page at least
    reads = [parse_qs(c.query) for c in world.dd.counters.calls("GET", CONTACTS)]
    assert len(reads) == 5  # three contacts and two leads: five pages, each requested once
    for book in world.books.values():
        markers = [q.get("marker", [""])[0] for q in reads if q["~listId"] == [str(book)]]
        assert markers[0] == "" and "" not in markers[1:]  # one start per book
        assert len(set(markers)) == len(markers)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_page_redone_after_a_crash_between_crm_write_and_snapshot_write_writes_nothing_more(
    world: World, host: LocalHost
) -> None:
    # As if the worker died after the PATCH batch: snapshot and watermark from before the run.
    before = world.snapshot("contact", "ada@example.com")
    world.change_platform("ada@example.com", LASTNAME="King")
    first = world.run(host)
    assert first.counts.updated == 1
    list_members(world.rt).upsert_many("acme", world.lists["contact"], [before])
    world.rt.state.set_value("acme", WATERMARK_KEY, None, world.clock.now)
    modified = world.crm("ada@example.com")["modifiedon"]

    again = world.run(host)

    assert (again.counts.updated, again.counts.failed) == (0, 0)
    assert world.crm("ada@example.com")["modifiedon"] == modified  # no second write
    assert world.snapshot("contact", "ada@example.com").synced_values["LASTNAME"] == "King"
