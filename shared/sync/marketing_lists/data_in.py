"""MarketingListsDataIn: member data changed on the platform -> the contacts/leads in Dynamics.

For each linked marketing list synced by the account, the address book's contacts modified
since the last run (v3 `~modified`, only the inbound data fields) are matched by email to the
list's member snapshot, their CRM records read in one `$batch` of GETs per page, merged field
by field (`data_in_merge`: platform-only changes are written, when both sides
changed the more recent change wins) and written in one `$batch` of ETag-conditional PATCHes
per page. The snapshot then records the newly agreed values, so DataOut does not push them
back. Contacts the snapshot does not know are skipped: membership belongs to DataOut and
AddressBooks.

Watermark (SyncState `MarketingListsDataIn-Watermark`, a `WatermarkWindow` in the cursor,
committed by the runner when the run completes): the run's start, captured before reading;
held back to the platform change time of a member whose write failed for a reason that can
pass (412 because the record changed after we read it, throttling, a server error), so the
next run reads it again (a resent batch's 412s are checked first: `data_in_confirm`); left
where it was when a list could not be read at all. Reads start a minute before it, for clock
skew between the two services. No watermark: all members of the book are read.

Audit: one detail row per list that had something written or failed (records counted as
`<entity> <id>: <reason>`), or that cannot sync (the product's LIST_NULL and
LIST_ACCOUNT_MISMATCH messages); none at all gives "No new objects to sync". Counts: read =
platform contacts read, updated = CRM records written, failed = records that could not be.

Cursor (`DataInCursor`): the watermark window (fixed for the whole run), the linked list ids
and the one in progress, `marker` (the v3 paging marker after the last page done in it: a
continuation requests the following pages only) and `read_all` (its last page is done), that
list's tally, and the run's details, messages and updated count for its result.

Marketing preferences are not handled here: they are their own sync type
(MarketingPreferences).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList
from shared.clients.dataverse.odata import entity_path, query_string, select_option
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.contacts import Contact
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
    WatermarkWindow,
)
from shared.errors import ApiError
from shared.mappings.model import MappedEntity
from shared.storage.data_labels_repo import label_key
from shared.sync.marketing_lists.data_in_confirm import applied_already
from shared.sync.marketing_lists.data_in_merge import InboundField, plan_member
from shared.sync.marketing_lists.data_in_scope import Skip, inbound_fields, list_problem
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.marketing_lists.snapshot_repo import MemberSnapshot, list_members
from shared.sync.marketing_lists.values import STATE_COLUMN, values_hash
from shared.sync_types import SyncType

log = logging.getLogger(__name__)

WATERMARK_KEY = f"{SyncType.MARKETING_LISTS_DATA_IN.value}-Watermark"
CLOCK_SKEW = timedelta(minutes=1)
PAGE_SIZE = 1000  # platform contacts per page: one $batch of GETs and one of PATCHes each
MAX_MESSAGES = 20  # failure messages kept per list and per run
MAX_MESSAGE_CHARS = 300  # each, so the cursor stays small
MODIFIED_COLUMN = "modifiedon"
ETAG = "@odata.etag"
_RETRY_LATER = frozenset({412, 429})  # and 5xx, and requests the service never reached


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _retry_later(result: BatchResult) -> bool:
    return result.status is None or result.status in _RETRY_LATER or result.status >= 500


class ListTally(BaseModel):
    """One list's progress; saved in the cursor so continuations keep counting."""

    counts: Counts = Counts()
    errors: list[str] = []

    def fail(self, message: str) -> None:
        self.counts.failed += 1
        if len(self.errors) < MAX_MESSAGES:
            self.errors.append(message[:MAX_MESSAGE_CHARS])


class DataInCursor(Cursor):
    version: ClassVar[int] = 2  # 2: the v3 `marker` replaced the contact id `after`

    window: WatermarkWindow
    lists: list[str] = []  # linked list ids, sorted
    index: int = 0  # the list in progress
    marker: str | None = None  # the v3 paging position after the last page done in it
    read_all: bool = False  # its last page is done
    tally: ListTally | None = None
    details: int = 0
    messages: list[str] = []
    updated: int = 0


class MarketingListsDataIn(SyncTypeTemplate[DataInCursor]):
    declaration = SyncDeclaration(
        SyncType.MARKETING_LISTS_DATA_IN,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="member data changed in the platform -> contacts and leads",
    )
    cursor_model = DataInCursor

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[DataInCursor]) -> DataInCursor:
        links = list_links(run.services).for_account(run.account.account_id)
        return DataInCursor(
            window=run.watermark(WATERMARK_KEY), lists=sorted(link.list_id for link in links)
        )

    def run(self, run: Run[DataInCursor]) -> Steps:
        return (yield from DataInRun(run, self.page_size).run())

    def watermarks(self, cursor: DataInCursor) -> list[WatermarkWindow]:
        return [cursor.window]


class DataInRun:
    """One slice of a run, from the cursor on; also the two-way's first phase."""

    def __init__(self, run: Run[DataInCursor], page_size: int) -> None:
        self.ctx = run
        self.page_size = page_size
        self.account_id = run.account.account_id
        self._platform: DotdigitalClient | None = None
        self._inbound: dict[MappedEntity, list[InboundField]] = {}

    @property
    def cursor(self) -> DataInCursor:
        return self.ctx.cursor

    @property
    def dataverse(self) -> DataverseClient:
        return self.ctx.services.dataverse()

    @property
    def platform(self) -> DotdigitalClient:
        if self._platform is None:  # connecting costs a call: only when a list needs it
            self._platform = self.ctx.platform(DotdigitalClient)
        return self._platform

    # Run ------------------------------------------------------------------------------------

    def run(self) -> Steps:
        cursor = self.cursor
        stored_links = list_links(self.ctx.services).for_account(self.account_id)
        links = {link.list_id: link for link in stored_links}
        while cursor.index < len(cursor.lists):
            link = links.get(cursor.lists[cursor.index])
            if link is not None:
                yield from self._sync_list(link)
            cursor.index += 1
            cursor.marker, cursor.read_all = None, False
            cursor.tally = None
            yield
        return self._finish()

    def _finish(self) -> SyncResult:
        cursor = self.cursor
        if cursor.messages:
            status = AuditStatus.COMPLETED_WITH_ERRORS if cursor.updated else AuditStatus.FAILED
            return SyncResult(status, "; ".join(cursor.messages)[:1000])
        if not cursor.details:
            return SyncResult(message=Messages.NO_NEW_OBJECTS)
        return SyncResult(message=f"{cursor.updated} records updated in Dynamics")

    # One list -------------------------------------------------------------------------------

    def _sync_list(self, link: ListLink) -> Generator[None, None, None]:
        tally = self.cursor.tally or ListTally()
        # Lists with nothing to bring in cost no call: no inbound field, or no member synced.
        fields = self._fields(MappedEntity(link.member_type))
        members = self._members(link.list_id) if fields else {}
        if not members:
            return
        try:
            marketing_list = self.dataverse.get_marketing_list(link.list_id)
        except ApiError as error:
            log.warning("Marketing list %s could not be read: %s", link.list_id, error)
            self.cursor.window.keep_old()  # its book's changes stay unread: read them next run
            self._report(link.list_name, tally, Messages.LIST_NULL)
            return
        problem = list_problem(marketing_list, self.account_id)
        if isinstance(problem, Skip):
            return
        if problem is not None or marketing_list is None:
            self._report(link.list_name, tally, problem or Messages.LIST_NULL)
            return
        if marketing_list.member_type.logical_name != link.member_type:
            return None  # not the list the snapshot was taken of
        if self.cursor.read_all:  # every page was done before a pause or a crash
            self._report(marketing_list.name, tally)
            return
        contacts = self.platform.iter_contacts(
            modified_since=self.cursor.window.read_from(CLOCK_SKEW),
            list_id=link.address_book_id,
            data_fields=[f.name for f in fields],
            include=(),
            limit=self.page_size,
            marker=self.cursor.marker,
        )
        try:
            for page in contacts.pages():
                if not page.items:
                    break  # only a last page is empty
                self._sync_page(marketing_list, link, fields, members, page.items, tally)
                self.cursor.marker, self.cursor.read_all = page.resume, page.resume is None
                self.cursor.tally = tally
                yield
        except ApiError as error:
            # The book cannot be read (gone, refused): what changed there is unknown, so the
            # watermark stays where it was; the other lists carry on.
            self.cursor.window.keep_old()
            self._report(marketing_list.name, tally, str(error))
            return
        self._report(marketing_list.name, tally)
        return

    def _fields(self, entity: MappedEntity) -> list[InboundField]:
        if entity not in self._inbound:
            services = self.ctx.services
            mappings = services.mappings.for_account(self.account_id)
            fields: list[InboundField] = []
            if any(m.entity is entity and m.direction.to_dynamics for m in mappings):
                stored_labels = services.data_labels.for_account(self.account_id)
                labels = {label_key(label.name): label for label in stored_labels}
                column_types = {
                    f.logical_name: f.attribute_type
                    for f in services.crm_fields.for_account(self.account_id, entity.value)
                }
                fields = inbound_fields(mappings, entity, labels, column_types)
            self._inbound[entity] = fields
        return self._inbound[entity]

    def _members(self, list_id: str) -> dict[str, list[MemberSnapshot]]:
        by_email: dict[str, list[MemberSnapshot]] = {}
        for member in list_members(self.ctx.services).iter_members(self.account_id, list_id):
            if member.email:
                by_email.setdefault(member.email.lower(), []).append(member)
        return by_email

    def _report(self, item: str, tally: ListTally, problem: str | None = None) -> None:
        """The list's detail row, when it had anything to say (seed: no rows -> "No new
        objects to sync")."""
        counts = tally.counts
        if problem is None and not counts.updated and not counts.failed:
            return
        errors = [problem] if problem else []
        errors += tally.errors
        if errors and not counts.updated:
            status = AuditStatus.FAILED
        elif errors:
            status = AuditStatus.COMPLETED_WITH_ERRORS
        else:
            status = AuditStatus.COMPLETED
        self.ctx.detail(
            AuditDetail(item=item, status=status, message="; ".join(errors)[:1000], counts=counts)
        )
        messages = self.cursor.messages
        for message in errors:
            if message not in messages and len(messages) < MAX_MESSAGES:
                messages.append(message[:MAX_MESSAGE_CHARS])
        self.cursor.details += 1

    # One page -------------------------------------------------------------------------------

    def _sync_page(
        self,
        marketing_list: MarketingList,
        link: ListLink,
        fields: Sequence[InboundField],
        members: dict[str, list[MemberSnapshot]],
        page: Sequence[Contact],
        tally: ListTally,
    ) -> None:
        page_counts = Counts(read=len(page))
        failed_before = tally.counts.failed
        matched = [
            (contact, member)
            for contact in page
            for member in members.get((contact.email or "").lower(), [])
        ]
        records = self._read_records(marketing_list, fields, matched, tally) if matched else {}
        entity = marketing_list.member_type.logical_name
        entity_set = marketing_list.member_type.entity_set
        only_active = self.ctx.account.sync_only_open_leads_and_active_contacts
        now = self.ctx.services.clock()
        writes: list[tuple[Contact, MemberSnapshot, BatchRequest]] = []
        agreed: list[MemberSnapshot] = []
        for contact, member in matched:
            record = records.get(member.member_id)
            if record is None or (only_active and record.get(STATE_COLUMN) not in (0, None)):
                continue
            try:
                plan = plan_member(
                    fields,
                    {label_key(name): value for name, value in contact.data_fields.items()},
                    member.synced_values,
                    record,
                    platform_updated=contact.updated,
                    crm_modified=_moment(record.get(MODIFIED_COLUMN)),
                )
            except ValueError as error:
                tally.fail(f"{entity} {member.member_id}: {error}")
                continue
            synced = {**member.synced_values, **plan.agreed}
            snapshot = member.model_copy(
                update={
                    "synced_values": synced,
                    "values_hash": values_hash(member.email, synced),
                    "contact_id": member.contact_id or contact.contact_id,
                    "synced_utc": now,
                }
            )
            if plan.writes:
                etag = str(record.get(ETAG) or "*")
                request = BatchRequest.update(
                    entity_set, member.member_id, plan.writes, if_match=etag
                )
                writes.append((contact, snapshot, request))
            elif synced != member.synced_values:
                agreed.append(snapshot)

        if writes:
            outcome = self.dataverse.execute_batch([request for _, _, request in writes])
            done = [(snapshot.member_id, request) for _, snapshot, request in writes]
            applied = applied_already(self.dataverse, entity_set, fields, done, outcome.results)
            for (contact, snapshot, _), result in zip(writes, outcome.results, strict=True):
                if result.ok or snapshot.member_id in applied:
                    page_counts.updated += 1
                    agreed.append(snapshot)
                    continue
                tally.fail(f"{entity} {snapshot.member_id}: {result.why}")
                if _retry_later(result):
                    self._hold(contact)
        if agreed:
            list_members(self.ctx.services).upsert_many(self.account_id, link.list_id, agreed)
        page_counts.failed = tally.counts.failed - failed_before
        tally.counts = tally.counts + Counts(read=page_counts.read, updated=page_counts.updated)
        self.ctx.counts += page_counts
        self.cursor.updated += page_counts.updated

    def _read_records(
        self,
        marketing_list: MarketingList,
        fields: Sequence[InboundField],
        matched: Sequence[tuple[Contact, MemberSnapshot]],
        tally: ListTally,
    ) -> dict[str, dict[str, Any]]:
        """The members' CRM records (with their ETags), by id; a record that is gone is left
        out (DataOut removes it), one that could not be read counts as failed."""
        member_type = marketing_list.member_type
        columns = [member_type.primary_key, STATE_COLUMN, MODIFIED_COLUMN]
        columns += [f.column for f in fields if f.column not in columns]
        select = query_string([("$select", select_option(columns))])
        contacts = {member.member_id: contact for contact, member in matched}
        ids = list(contacts)
        requests = [
            BatchRequest.get(f"{entity_path(member_type.entity_set, i)}?{select}") for i in ids
        ]
        outcome = self.dataverse.execute_batch(requests)
        records: dict[str, dict[str, Any]] = {}
        for member_id, result in zip(ids, outcome.results, strict=True):
            if result.ok and isinstance(result.body, dict):
                records[member_id] = result.body
            elif result.status != 404:
                tally.fail(f"{member_type.logical_name} {member_id}: {result.why}")
                if _retry_later(result):
                    self._hold(contacts[member_id])
        return records

    def _hold(self, contact: Contact) -> None:
        """Keep the watermark at or before this contact's change, so it is read again."""
        self.cursor.window.hold_back(contact.updated)
