"""Push one marketing list to its address book: the members that changed since the last run
go in bulk imports, the members that left go out of the book.

Change detection is a snapshot, not a per-entity delta link: every run reads the list's
members (pages of 5000 with `$select`), computes each member's platform values (mapped fields,
linked fields resolved once per page through one `$batch` of GETs, label default values) and a
hash of them, and compares it with the hash stored when the member was last pushed
(`ListMemberRepository`). Delta links on contact, lead and account cannot do this job: they do
not report list membership changes (the listmember intersect) nor changes of linked records (an
account renamed changes every contact's company field), so a read of the members is needed
anyway, and hashing the mapped values catches every change with the same calls.

- New or changed members go into v3 imports (email as identifier, `lists=[book]`, mapped
  values as data fields; `null` clears a field that became empty).
- Members in the snapshot but no longer in the list (a dynamic list's query no longer returns
  them, a static list lost them), no longer eligible ("Sync only open leads and active
  contacts") or without an email address now, leave the address book and the snapshot.
- A member whose email changed is imported under the new email; the old Dotdigital contact
  leaves the book.
- Remove address book members not in this marketing list: also removes book members whose
  email is not a member's (contacts added on the platform); the other actions leave them.
- A member the import refuses (its failure codes), whose linked record could not be read, or
  whose email another member of the same import round has, keeps its old snapshot: it is
  counted as failed, named in the list's audit detail, and tried again next run.

Durability: an import round (the pages gathered for one import) is checkpointed three times:
once its imports are submitted (their ids: a resumed run polls them and never sends them
again, so an import outliving a slice is polled across slices), once they Finished (the
round's counts, taken once), and once its snapshot is written (the page to continue from).
A run killed or paused in between re-reads the round's pages (`PendingRound.pages` of them)
and carries on from the stage it had reached; a round whose members changed meanwhile waits
for the imports already sent, then is imported again. Members count as new or updated by the
snapshot (a member pushed before is updated), not by Dotdigital's report: a killed worker may
send an import twice (the answer with its id lost), and the second report calls the contacts
the first one created "updated". Imports are upserts by email and book membership is a set,
so redoing them neither duplicates contacts nor members. Memory is bounded by one page, one
import round (`FLUSH_AT` members) and the compact snapshot index.

Removal needs every current member to be seen. When a list's pages were read in one slice the
index itself tells who was not seen, and those members leave with the last import round (one
bulk removal job); when the read was split across slices (a pause, a crash), the member ids
are read again (id, state and email only) before anything is removed.

Members pushed for the first time are recorded in the account's list membership history
(`history_repo`: MarketingPreferences syncs every record ever listed) just before the snapshot
that makes them known; a list pushed before the history existed adds its snapshot's members
once.

About 600 lines on purpose: reading, comparing, importing and removing share one import
round's state (`_Batch`, `PendingRound`) and one list's progress, and their order is the
crash-safety argument above; the book choice (`push_book`), the snapshot store and index,
linked values and value mapping are modules of their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList, MemberPosition
from shared.clients.dotdigital.address_books import AddressBook
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.imports import (
    IN_PROGRESS,
    ImportContact,
    ImportLimits,
    ImportResult,
)
from shared.dynamics_schema import MembershipAction
from shared.errors import ApiError
from shared.mappings.model import DataMapping, MappedEntity
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, label_key
from shared.sync.marketing_lists.history_repo import membership_history
from shared.sync.marketing_lists.links_repo import ListLink
from shared.sync.marketing_lists.push_book import link_book
from shared.sync.marketing_lists.push_index import SnapshotIndex, values_fingerprint
from shared.sync.marketing_lists.push_linked import LinkedValues, resolve_linked
from shared.sync.marketing_lists.snapshot_chunks import (
    IndexRecord,
    Record,
    hash_bytes,
    member_bytes,
    member_text,
)
from shared.sync.marketing_lists.snapshot_repo import list_members
from shared.sync.marketing_lists.values import (
    STATE_COLUMN,
    ValueMapper,
    email_field,
    outbound,
    select_columns,
    values_hash,
)

PAGE_SIZE = 5000  # Dataverse's largest page
# Changed members per import round: pages are gathered while another page still fits, so a
# round is one import of at most FLUSH_AT contacts. Bounds memory and the work a crash redoes.
FLUSH_AT = 10_000
IMPORT_LIMITS = ImportLimits(max_contacts=FLUSH_AT)
IMPORT_POLL_SECONDS = 10.0
IMPORT_TIMEOUT_SECONDS = 1800.0  # from submission, across slices; then the run is retried later
REMOVAL_POLL_SECONDS = 2.0  # a bulk removal of at most 1000 ids is quick
MAX_REPORTED = 5  # failed members named in a list's audit detail
BOOK_CONTACTS_PAGE = 5000  # v3 contacts per page when looking for unlisted book members
STRAY_CHUNK = 1000  # unlisted book members removed per checkpoint (their ids are in the cursor)

Phase = Literal["push", "verify", "forget", "unlisted", "done"]


class PendingRound(BaseModel):
    """An import round between its submission and its snapshot write (see the module doc)."""

    pages: int  # member pages in the round, read again from `ListProgress.resume` on resume
    fingerprint: str  # of the round's changes: the same round, or members changed meanwhile
    import_ids: list[str] = []
    submitted_utc: datetime
    counted: bool = False  # its counts are in the progress; only its snapshot is left to write


class ListProgress(BaseModel):
    """One list's progress within a run; saved in the run's cursor at every checkpoint."""

    list_id: str
    name: str = ""
    book_id: int = 0
    book_name: str = ""
    phase: Phase = "push"
    resume: MemberPosition | None = None  # where the next member page starts
    pages: int = 0
    had_snapshot: bool = False
    read: int = 0
    created: int = 0
    updated: int = 0
    removed: int = 0
    unlisted: int = 0  # of `removed`: book members that were never list members
    failed: int = 0
    not_eligible: int = 0
    no_email: int = 0
    failures: list[str] = []
    error: str = ""  # the list failed as a whole (its import was refused)
    pending: PendingRound | None = None
    stray: list[int] = []  # unlisted book members counted as removed, their removal not confirmed

    @property
    def active(self) -> bool:
        """Whether the list had anything to report this run."""
        return bool(self.error or self.created or self.updated or self.removed or self.failed)


@dataclass
class PushSession:
    """What every list of one run slice shares."""

    services: Runtime
    account_id: str
    dataverse: DataverseClient
    platform: DotdigitalClient
    mappings: list[DataMapping]
    labels: dict[str, DataLabel]
    only_eligible: bool
    links: dict[str, ListLink]
    out_of_time: Callable[[], bool]
    save_only: Callable[[], None]  # the next checkpoint does not pause (Run.save_only)
    page_size: int = PAGE_SIZE
    flush_at: int = FLUSH_AT
    _books: dict[int, AddressBook] | None = None

    def books(self, *, refresh: bool = False) -> dict[int, AddressBook]:
        if self._books is None or refresh:
            self._books = {book.id: book for book in self.platform.iter_address_books()}
        return self._books


@dataclass(frozen=True)
class _Change:
    member_id: str
    email: str
    values: dict[str, Any]
    digest: str
    stored: bool  # the snapshot had the member (its contact id is read when needed)


@dataclass
class _Batch:
    """Work gathered from pages not yet checkpointed, and what reading them counted (added to
    the list's progress once, when the round's imports have Finished)."""

    changes: list[_Change] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)  # of `changes`: a joining query may repeat one
    leaving: list[str] = field(default_factory=list)
    # Set on the last page when every page was read: the stored members not seen leave.
    unseen_leave: bool = False
    pages: int = 0
    read: int = 0
    failed: int = 0
    not_eligible: int = 0
    no_email: int = 0
    failures: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes or self.leaving or self.unseen_leave)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for change in self.changes:
            digest.update(f"{change.member_id}={change.digest};".encode())
        return digest.hexdigest()[:32]


def _entity(mlist: MarketingList) -> MappedEntity:
    return MappedEntity(mlist.member_type.logical_name)


class ListPusher:
    def __init__(self, session: PushSession, mlist: MarketingList, progress: ListProgress) -> None:
        self.s = session
        self.mlist = mlist
        self.p = progress
        entity = _entity(mlist)
        self.out_mappings = outbound(session.mappings, entity)
        self.values = ValueMapper(self.out_mappings, session.labels)
        self.select = select_columns(self.out_mappings, entity)
        self.email_column = email_field(session.mappings, entity)
        self.key = mlist.member_type.primary_key
        self.repo = list_members(session.services)
        self.history = membership_history(session.services)
        self.failed_emails: set[str] = set()

    # The list ------------------------------------------------------------------------------

    def run(self) -> Generator[None, None, None]:
        """Push the list from its progress on, yielding at each checkpoint."""
        p = self.p
        p.name = self.mlist.name
        if not p.book_id:
            self._link_book()
            yield
        index = SnapshotIndex.load(self.s.services, self.s.account_id, self.mlist.list_id)
        if not self.history.has_list(self.s.account_id, self.mlist.list_id):
            self._remember(
                member_text(key[0]) for _, keys in self._stored_keys() for key in keys
            )  # members pushed before the history existed
            self.history.mark_list(self.s.account_id, self.mlist.list_id)
        if p.phase == "push":
            if p.pages == 0:
                p.had_snapshot = len(index) > 0
            yield from self._push(index)
        if p.phase == "verify":
            # The pages were read over several slices: who left is only known from a fresh
            # read of the member ids (unless nobody had been pushed before this run).
            if p.had_snapshot:
                leavers = self._leavers(index)
                self._leave(leavers, [])
                p.phase = "forget"
                self.s.save_only()
                yield  # counted; a run resumed from here only forgets them
                self._forget(leavers)
            p.phase = "unlisted"
            yield
        if p.phase == "forget":
            self._forget(self._leavers(index))
            p.phase = "unlisted"
            yield
        if p.phase == "unlisted":
            if p.stray:  # removed from the book but the slice ended before it was confirmed
                self._leave_book(p.stray)
                p.stray = []
                yield
            if self.mlist.membership_action == MembershipAction.REMOVE_UNLISTED:
                yield from self._remove_unlisted()
            p.phase = "done"
            yield

    def _leavers(self, index: SnapshotIndex) -> list[tuple[str, int | None]]:
        self._verify(index)
        return index.resolve(self._stored_keys(), leavers=True).leavers

    def _forget(self, leavers: Sequence[tuple[str, int | None]]) -> None:
        removed = [member_id for member_id, _ in leavers]
        if removed:
            self.repo.delete_many(self.s.account_id, self.mlist.list_id, removed)

    def _link_book(self) -> None:
        book = link_book(self.s, self.mlist, lambda: self.repo.delete_list(
            self.s.account_id, self.mlist.list_id))  # fmt: skip
        self.p.book_id, self.p.book_name = book.id, book.name

    # Members -------------------------------------------------------------------------------

    def _eligible(self, record: Mapping[str, Any]) -> bool:
        # contact/account statecode 0 = Active; lead statecode 0 = Open.
        return not self.s.only_eligible or record.get(STATE_COLUMN, 0) in (0, None)

    def _email(self, record: Mapping[str, Any]) -> str:
        return str(record.get(self.email_column) or "").strip()

    def _push(self, index: SnapshotIndex) -> Generator[None, None, None]:
        """Read the pages from the checkpoint on, yielding at each stage of each import round
        and after each page read without pending work. The last page moves the list on; a
        refused import ends it with `error`."""
        p = self.p
        seen_all = p.resume is None  # every page read by this slice: the index knows who left
        batch = _Batch()
        pages = self.s.dataverse.iter_list_members(
            self.mlist, self.select, page_size=self.s.page_size, resume=p.resume
        )
        for page in pages:
            linked = resolve_linked(self.s.dataverse, page.records, self.out_mappings)
            for record in page.records:
                self._compare(record, linked, index, batch)
            batch.pages += 1
            batch.read += len(page.records)
            last = page.resume is None
            if last and seen_all and len(index):
                batch.unseen_leave = True
            if not self._round_ends(batch, last):
                continue  # no checkpoint past pages whose changes are not pushed yet
            ok = True
            if batch or p.pending is not None:
                ok = yield from self._flush(batch, index)
            else:
                self._count(batch)
            batch = _Batch()
            if not ok:
                p.phase = "done"
                yield
                return
            p.resume = page.resume
            if last:
                p.phase = "unlisted" if seen_all else "verify"
            yield

    def _round_ends(self, batch: _Batch, last: bool) -> bool:
        if self.p.pending is not None:  # a round read again: exactly its pages
            return last or batch.pages >= self.p.pending.pages
        if not batch or last or self.s.out_of_time():
            return True
        return len(batch.changes) + self.s.page_size > self.s.flush_at

    def _count(self, batch: _Batch) -> None:
        """Add what reading the round counted to the list's progress."""
        p = self.p
        p.pages += batch.pages
        p.read += batch.read
        p.failed += batch.failed
        p.not_eligible += batch.not_eligible
        p.no_email += batch.no_email
        p.failures.extend(batch.failures[: max(MAX_REPORTED - len(p.failures), 0)])

    def _compare(
        self,
        record: Mapping[str, Any],
        linked: LinkedValues,
        index: SnapshotIndex,
        batch: _Batch,
    ) -> None:
        member_id = str(record.get(self.key) or "")
        if not member_id or member_id in batch.members:
            return
        stored = index.see(member_bytes(member_id))  # seen: whatever happens next, not "gone"
        email = self._email(record)
        if not self._eligible(record) or not email:
            if self._eligible(record):
                batch.no_email += 1
            else:
                batch.not_eligible += 1
            if stored is not None:
                batch.leaving.append(member_id)
            return
        if linked.missing_for(record, self.out_mappings):
            self._fail(batch, email, "its linked record could not be read")
            return
        try:
            values = self.values(record, linked.rows)
        except (TypeError, ValueError) as error:  # a value the label's type cannot take
            self._fail(batch, email, f"a mapped value could not be converted ({error})")
            return
        digest = values_hash(email, values)
        if stored is not None and stored == values_fingerprint(digest):
            return
        lowered = email.lower()
        if lowered in batch.emails:
            self._fail(batch, email, "Duplicate (another member of the list has this email)")
            return
        batch.emails.add(lowered)
        batch.members.add(member_id)
        batch.changes.append(_Change(member_id, email, values, digest, stored is not None))

    def _fail(self, batch: _Batch, key: str, reason: str) -> None:
        batch.failed += 1
        self.failed_emails.add(key.lower())
        if len(batch.failures) < MAX_REPORTED:
            batch.failures.append(f"{key}: {reason}")

    def _flush(self, batch: _Batch, index: SnapshotIndex) -> Generator[None, None, bool]:
        """Import the round's changes, take the leaving members out, then write the snapshot of
        what the platform accepted (with the leavers' removal), checkpointing between the
        stages (module doc). False if an import failed as a whole."""
        p, s = self.p, self.s
        pending = p.pending
        if pending and not pending.counted and pending.fingerprint != batch.fingerprint():
            self._results(pending)  # members changed since it was sent: let it finish first
            pending = p.pending = None
        if pending is None:
            contacts = (
                ImportContact(email=c.email, data_fields=c.values, lists=(p.book_id,))
                for c in batch.changes
            )
            import_ids = s.platform.submit_contact_imports(
                contacts, limits=ImportLimits(max_contacts=s.flush_at)
            )
            pending = p.pending = PendingRound(
                pages=batch.pages,
                fingerprint=batch.fingerprint(),
                import_ids=import_ids,
                submitted_utc=s.services.clock(),
            )
            if import_ids:
                self.s.save_only()
                yield  # a resumed run polls these imports; it never sends them again
        accepted: dict[str, int] = {}  # email -> contact id
        refused: dict[str, list[str]] = {}
        failed_import = ""
        for result in self._results(pending):
            if result.failed:
                failed_import = failed_import or f"{result.import_id} ended {result.status}"
                continue
            for ref in (*result.created, *result.updated):
                accepted.setdefault(ref.identifiers.get("email", "").lower(), ref.contact_id)
            for failure in result.failures:
                email = failure.identifiers.get("email", "").lower()
                refused.setdefault(email, []).extend(failure.codes or ("Failed",))
        # One read of the stored keys: the old contact ids of the members that changed (an
        # email change leaves a contact behind), the leavers' contact ids, who else left.
        stored = index.resolve(
            self._stored_keys(),
            [*(c.member_id for c in batch.changes if c.stored), *batch.leaving],
            leavers=batch.unseen_leave,
        )
        pushed: list[tuple[_Change, int]] = []  # with the Dotdigital contact id
        stale: list[int] = []
        not_sent = created = updated = 0
        for change in batch.changes:
            lowered = change.email.lower()
            if lowered in refused:
                self._fail(batch, change.email, ", ".join(dict.fromkeys(refused[lowered])))
                continue
            if lowered not in accepted:
                not_sent += 1
                self.failed_emails.add(lowered)
                continue
            contact_id = accepted[lowered]
            if change.stored:
                updated += 1
            else:
                created += 1
            old_contact_id = stored.contacts.get(change.member_id)
            if change.stored and old_contact_id is not None and old_contact_id != contact_id:
                stale.append(old_contact_id)  # the member's email changed
            pushed.append((change, contact_id))
        leaving = [(m, stored.contacts.get(m)) for m in batch.leaving] + stored.leavers
        if not pending.counted:
            self._leave(leaving, stale)
            batch.failed += not_sent
            p.created += created
            p.updated += updated
            self._count(batch)
            pending.counted = True
            self.s.save_only()
            yield  # counted once; a resumed run only writes the snapshot below
        now = s.services.clock()
        snapshots = (  # built as they are written, a chunk at a time
            Record(
                member_bytes(change.member_id),
                hash_bytes(change.digest),
                contact_id,
                email=change.email,
                values=change.values,
                synced_utc=now,
            )
            for change, contact_id in pushed
        )
        removed = [member_id for member_id, _ in leaving]
        # Before the snapshot: once a member is in the snapshot it is no longer new.
        self._remember(change.member_id for change, _ in pushed if not change.stored)
        self.repo.upsert_many(s.account_id, self.mlist.list_id, snapshots, removed=removed)
        p.pending = None
        if failed_import:
            p.error = (
                f"Dotdigital import {failed_import}: {not_sent} members not sent; the list "
                "stopped there and continues from them next run"
            )
            return False
        return True

    def _remember(self, member_ids: Iterable[str]) -> None:
        """Record members in the account's list membership history (MarketingPreferences)."""
        entity = self.mlist.member_type.logical_name
        self.history.add(self.s.account_id, entity, member_ids)

    def _results(self, pending: PendingRound) -> list[ImportResult]:
        """The round's imports once they are no longer NotFinished, polled until then (across
        slices: each wait is bounded by the slice's deadline)."""
        s = self.s
        elapsed = (s.services.clock() - pending.submitted_utc).total_seconds()
        results = []
        for import_id in pending.import_ids:
            result = s.platform.contact_import_status(import_id)
            if result.status == IN_PROGRESS:
                result = s.platform.wait_for_contact_import(
                    import_id,
                    poll_interval_seconds=IMPORT_POLL_SECONDS,
                    timeout_seconds=max(IMPORT_TIMEOUT_SECONDS - elapsed, 0.0),
                )
            results.append(result)
        return results

    def _stored_keys(self) -> Iterator[tuple[int, Iterator[IndexRecord]]]:
        return self.repo.iter_key_chunks(self.s.account_id, self.mlist.list_id)

    def _verify(self, index: SnapshotIndex) -> None:
        """Read every current member once more (id, state, email): the stored members not
        seen afterwards are no longer members to sync."""
        select = list(dict.fromkeys([self.key, STATE_COLUMN, self.email_column]))
        pages = self.s.dataverse.iter_list_members(self.mlist, select, page_size=self.s.page_size)
        for page in pages:
            for record in page.records:
                member_id = str(record.get(self.key) or "")
                if member_id and self._eligible(record) and self._email(record):
                    index.see(member_bytes(member_id))

    def _leave(self, leaving: Sequence[tuple[str, int | None]], stale: Sequence[int]) -> None:
        """Take members out of the address book (by contact id; by email when the id is not
        known), with the contacts of changed emails, in one go; the caller removes them from
        the snapshot once that succeeded."""
        if not leaving and not stale:
            return
        s = self.s
        contact_ids = [*stale, *(cid for _, cid in leaving if cid is not None)]
        unknown = [member_id for member_id, cid in leaving if cid is None]
        if unknown:
            found = self.repo.lookup(s.account_id, self.mlist.list_id, unknown, data=True)
            for member in found.values():
                contact = s.platform.get_contact("email", member.email)
                if contact is not None:
                    contact_ids.append(contact.contact_id)
        if contact_ids:
            self._leave_book(contact_ids)
        self.p.removed += len(leaving)

    def _leave_book(self, contact_ids: Sequence[int]) -> None:
        """Bulk removal jobs; a job Dotdigital failed fails the list (and the snapshot rows
        stay, so the next run removes them again)."""
        jobs = self.s.platform.remove_contacts_from_address_book(
            self.p.book_id, contact_ids, poll_interval_seconds=REMOVAL_POLL_SECONDS
        )
        failed = [job.id for job in jobs if job.status == "Failed"]
        if failed:
            raise ApiError(
                f"Dotdigital could not remove contacts from address book '{self.p.book_name}' "
                f"(deletion {', '.join(failed)} failed)",
                status=200,
            )

    def _remove_unlisted(self) -> Generator[None, None, None]:
        """Remove address book members not in this marketing list, a chunk at a time: each
        chunk is counted and checkpointed (`stray`) before it is removed, so a resumed run
        finishes its removal without counting it again (the book no longer has them)."""
        s = self.s
        members = {
            m.email.lower() for m in self.repo.iter_members(s.account_id, self.mlist.list_id)
        }
        members |= self.failed_emails  # list members this run could not push: not strangers
        stray = [
            contact.contact_id
            for contact in s.platform.iter_contacts(
                list_id=self.p.book_id, include=(), limit=BOOK_CONTACTS_PAGE
            )
            if (contact.email or "").lower() not in members
        ]
        for start in range(0, len(stray), STRAY_CHUNK):
            chunk = stray[start : start + STRAY_CHUNK]
            self.p.removed += len(chunk)
            self.p.unlisted += len(chunk)
            self.p.stray = chunk
            self.s.save_only()
            yield
            self._leave_book(chunk)
            self.p.stray = []


def labels_by_key(labels: Iterable[DataLabel]) -> dict[str, DataLabel]:
    return {label_key(label.name): label for label in labels}


__all__ = [
    "FLUSH_AT",
    "IMPORT_LIMITS",
    "PAGE_SIZE",
    "ListProgress",
    "ListPusher",
    "PushSession",
    "labels_by_key",
]
