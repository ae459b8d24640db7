"""Unsubscribes: who unsubscribed from a linked address book leaves its marketing list.

For every active, email-activated marketing list of the account that is linked to an address
book, the book's unsubscribes since the book's watermark (`unsubscribed-since`, v2 select/skip
pages) are removed from the list (the N:N `$ref` DELETE, in `$batch`) and each gets an Email
List Unsubscriber row in Dynamics (email, date, list, contact or lead, email account). A page
costs one `$batch` of lookups and one of writes.

Idempotent: a member already out of the list is not looked for again, and a row's id is derived
from the account, the list, the email and the date of the unsubscribe, looked up with the page
and written create-only (`If-None-Match: *`), so a re-run or a redelivered message finds it there
("recorded already") and never makes a second one. Counts are durable with the writes: a page's
plan (its counts as decided) is checkpointed before its writes, so the replay of a page whose
worker died after writing counts that work as the page's own, as an unkilled run does.
Watermarks are per book and move only when the run completes; a failure that can pass holds
its book's watermark back.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList, MemberType
from shared.clients.dataverse.odata import entity_path
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.suppressions import Suppression
from shared.dynamics_schema.connector import LIST_UNSUBSCRIBER
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
from shared.mappings.model import MappedEntity
from shared.sync.email_lookup import EmailQuery, Found, find_by_email
from shared.sync.marketing_lists.links_repo import list_links
from shared.sync.marketing_lists.values import email_field
from shared.sync_types import SyncType

PAGE_SIZE = 1000  # the most v2 hands out per call
CLOCK_SKEW = timedelta(minutes=1)  # read a margin before the watermark: the clocks differ
# A book read for the first time: its whole history (a list linked to a book that people left
# before the link still loses them; the platform would never mail them from that book anyway).
FIRST_READ_FROM = datetime(2000, 1, 1, tzinfo=UTC)
ROW_NAMESPACE = uuid.UUID("0b6f3c52-8e7a-4d2b-9a61-3f5e2c8d7a14")
MAX_ERRORS = 5  # failure messages kept per list (each names its email)
ALREADY_RECORDED = 412  # create-only PATCH of a row that exists: an earlier run wrote it
DYNAMIC = "dynamic marketing list: members come from its query and are not removed"


def watermark_key(book_id: int) -> str:
    return f"{SyncType.UNSUBSCRIBES.value}-Book-{book_id}"


def row_id(account_id: str, list_id: str, email: str, when: datetime | None) -> str:
    """The list unsubscriber row of one unsubscribe: the same whoever writes it, however often."""
    moment = when.isoformat() if when is not None else ""
    return str(uuid.uuid5(ROW_NAMESPACE, f"{account_id}/{list_id}/{email.lower()}/{moment}"))


class Target(BaseModel):
    list_id: str
    book_id: int


class ListTally(BaseModel):
    """One list's progress over slices: counts, rows found already there, failures."""

    counts: Counts = Counts()
    already: int = 0
    errors: list[str] = []

    def fail(self, email: str, message: str) -> None:
        """Name a failure in the list's message (it is counted with the page's counts)."""
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"{email}: {message}"[:300])


class PagePlan(BaseModel):
    """A page of a list whose writes are under way: its counts as decided before them."""

    index: int  # the target
    skip: int  # the page's position in the target's unsubscribes
    counts: Counts
    already: int


class UnsubscribesCursor(Cursor):
    started: datetime  # the run's start: every book's next watermark
    targets: list[Target] = []
    index: int = 0  # the target in progress
    skip: int = 0  # v2 position after the last page done in it
    tally: ListTally = ListTally()
    holds: dict[str, datetime] = {}  # book id -> the earliest unsubscribe to read again
    kept: list[int] = []  # books that could not be read: their watermark stays
    lists: int = 0  # lists with a detail row
    failed_lists: int = 0
    in_flight: PagePlan | None = None  # saved before a page's writes, cleared with its end


class Unsubscribes(SyncTypeTemplate[UnsubscribesCursor]):
    declaration = SyncDeclaration(
        SyncType.UNSUBSCRIBES,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="address book unsubscribes -> off the marketing list, list unsubscriber rows",
    )
    cursor_model = UnsubscribesCursor

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[UnsubscribesCursor]) -> UnsubscribesCursor:
        account_id = run.account.account_id
        links = {link.list_id: link for link in list_links(run.services).for_account(account_id)}
        targets = []
        for mlist in run.services.dataverse().iter_marketing_lists(active_only=True):
            link = links.get(mlist.list_id)
            if link is None or not mlist.email_activated:
                continue
            if (mlist.email_account_id or "").strip().casefold() != account_id.casefold():
                continue  # DataOut reports a list of another account
            targets.append(Target(list_id=mlist.list_id, book_id=link.address_book_id))
        return UnsubscribesCursor(started=run.services.clock(), targets=targets)

    def run(self, run: Run[UnsubscribesCursor]) -> Steps:
        cursor = run.cursor
        platform = run.platform(DotdigitalClient)
        dataverse = run.services.dataverse()
        while cursor.index < len(cursor.targets):
            yield from self._sync_list(run, platform, dataverse, cursor.targets[cursor.index])
        return _result(run)

    def watermarks(self, cursor: UnsubscribesCursor) -> list[WatermarkWindow]:
        windows = []
        for target in cursor.targets:
            window = WatermarkWindow(key=watermark_key(target.book_id), started=cursor.started)
            if target.book_id in cursor.kept:
                window.keep_old()
            window.hold_back(cursor.holds.get(str(target.book_id), cursor.started))
            windows.append(window)
        return windows

    def _sync_list(
        self,
        run: Run[UnsubscribesCursor],
        platform: DotdigitalClient,
        dataverse: DataverseClient,
        target: Target,
    ) -> Generator[None, None, None]:
        cursor = run.cursor
        mlist = dataverse.get_marketing_list(target.list_id)
        if mlist is not None and mlist.active and mlist.email_activated:
            since = run.watermark(watermark_key(target.book_id)).read_from(CLOCK_SKEW)
            unsubscribes = platform.iter_address_book_unsubscribes_since(
                target.book_id, since or FIRST_READ_FROM, select=self.page_size, skip=cursor.skip
            )
            writer = _ListWriter(run, dataverse, mlist, target)
            for page in unsubscribes.pages():
                decision = writer.decide(page.items)
                plan, replay = cursor.in_flight, True
                if plan is None or (plan.index, plan.skip) != (cursor.index, cursor.skip):
                    # The page's intent is saved before its writes: were the worker to die
                    # after them, the replay of this page counts them as this run's work.
                    plan, replay = decision.plan(cursor.index, cursor.skip, len(page.items)), False
                    if decision.writes:  # nothing to write: a replay decides the same
                        cursor.in_flight = plan
                        run.save_only()
                        yield
                writer.write(decision, plan, replay)
                cursor.in_flight = None
                if page.resume is None:
                    break  # the last page's work is saved with the list's end, just below
                cursor.skip = page.resume
                yield
            _finish_list(run, mlist.name, mlist.dynamic)
        else:
            # Gone, closed or no longer email-activated since the run started: its book was
            # not read, so its watermark stays. A list that is gone is reported as DataOut does.
            cursor.kept.append(target.book_id)
            if mlist is None:
                cursor.tally.errors.append(Messages.LIST_NULL)
                _finish_list(run, target.list_id, False)
        cursor.index += 1
        cursor.skip = 0
        cursor.tally = ListTally()
        yield


@dataclass
class _Decision:
    """What a page sets out to do, decided from its lookups (no write made yet)."""

    writes: list[tuple[str, Suppression, BatchRequest]] = field(default_factory=list)
    failures: list[tuple[str, str, Suppression]] = field(default_factory=list)  # lookups
    already: int = 0  # rows an earlier run recorded (found by the lookup)

    def plan(self, index: int, skip: int, read: int) -> PagePlan:
        deletes = sum(request.method == "DELETE" for _, _, request in self.writes)
        counts = Counts(read=read, deleted=deletes, created=len(self.writes) - deletes,
                        failed=len(self.failures))  # fmt: skip
        return PagePlan(index=index, skip=skip, counts=counts, already=self.already)


class _ListWriter:
    """One list's pages: look the unsubscribers up, remove members, record rows."""

    def __init__(
        self,
        run: Run[UnsubscribesCursor],
        dataverse: DataverseClient,
        mlist: MarketingList,
        target: Target,
    ) -> None:
        self.run = run
        self.dataverse = dataverse
        self.mlist = mlist
        self.target = target
        member_type = mlist.member_type
        entity = MappedEntity(member_type.logical_name)
        mappings = run.services.mappings.for_account(run.account.account_id)
        self.email_column = email_field(mappings, entity)
        self.key = member_type.primary_key
        self.members_path = f"{entity_path('lists', mlist.list_id)}/{member_type.navigation}"

    def decide(self, rows: Sequence[Suppression]) -> _Decision:
        """The page's writes: members to remove and rows to record (not those recorded)."""
        started = self.run.cursor.started
        latest: dict[str, Suppression] = {}  # an email twice in a page: its latest unsubscribe
        for row in sorted(rows, key=lambda r: r.date_removed or started):
            if row.email.strip():
                latest[row.email.strip().lower()] = row
        members, records, recorded = self._lookup(list(latest))
        decision = _Decision()
        for email, row in latest.items():
            problem = members.failed.get(email) or records.failed.get(email)
            problem = problem or recorded.failed.get(email)
            if problem:
                decision.failures.append((email, problem, row))
                continue
            in_list = members.ids(email, self.key)
            for member_id in in_list:
                url = f"{self.members_path}({member_id})/$ref"
                decision.writes.append((email, row, BatchRequest("DELETE", url)))
            regarding = in_list or records.ids(email, self.key)
            request, key = self._record(row, regarding[0] if regarding else None)
            if key in recorded.ids(email, LIST_UNSUBSCRIBER.primary_id):
                decision.already += 1
            else:
                decision.writes.append((email, row, request))
        return decision

    def write(self, decision: _Decision, plan: PagePlan, replay: bool) -> None:
        """Send the decided writes; the page's counts are its plan's, less what did not happen.

        On a replay (the plan was saved before a kill), the lookups no longer find what the
        earlier attempt did (members removed, rows recorded): the plan still counts them."""
        tally = self.run.cursor.tally
        counts = plan.counts.model_copy()
        already = plan.already
        for email, problem, row in decision.failures:
            if replay:  # a lookup that failed only this time: its writes' fate is unknown
                counts.failed += 1
            tally.fail(email, problem)
            self._hold(row)
        if decision.writes:
            outcome = self.dataverse.execute_batch([request for _, _, request in decision.writes])
            for (email, row, request), result in zip(decision.writes, outcome.results, strict=True):
                deleting = request.method == "DELETE"
                # A batch sent again after its answer was lost meets its own first send's
                # work (the member gone, the row there): that work is this run's, counted once.
                if result.ok or (result.resent and result.status in (404, ALREADY_RECORDED)):
                    continue
                if deleting:
                    counts.deleted -= 1
                else:
                    counts.created -= 1
                if deleting and result.status == 404:
                    continue  # left the list since the lookup: nothing to remove
                if not deleting and result.status == ALREADY_RECORDED:
                    already += 1  # recorded by another run since the lookup
                    continue
                tally.fail(email, result.why)
                counts.failed += 1
                self._hold(row)
        tally.already += already
        tally.counts += counts
        self.run.counts += counts

    def _lookup(self, emails: list[str]) -> tuple[Found, Found, Found]:
        """Which of the emails are members of the list (with their ids), the records of the
        list's member type with them (the row's contact or lead when none is a member), and
        the list unsubscriber rows with them (which of this page's are recorded already)."""
        records = EmailQuery(self.mlist.member_type.entity_set, self.key, self.email_column)
        rows = EmailQuery(LIST_UNSUBSCRIBER.entity_set, LIST_UNSUBSCRIBER.primary_id, "dms_email")
        if self.mlist.dynamic:  # its members are its query's rows: none to remove
            found, recorded = find_by_email(self.dataverse, [records, rows], emails)
            return Found(), found, recorded
        in_list = EmailQuery(self.members_path, self.key, self.email_column)
        members, found, recorded = find_by_email(self.dataverse, [in_list, records, rows], emails)
        return members, found, recorded

    def _record(self, row: Suppression, regarding: str | None) -> tuple[BatchRequest, str]:
        account_id = self.run.account.account_id
        key = row_id(account_id, self.mlist.list_id, row.email, row.date_removed)
        body: dict[str, Any] = {
            "dms_email": row.email.strip(),
            "dms_unsubscribedon": _text(row.date_removed),
            "dms_listid@odata.bind": f"/{entity_path('lists', self.mlist.list_id)}",
            "dms_emailaccountid": account_id,
        }
        member_type = self.mlist.member_type
        if regarding is not None and member_type is not MemberType.ACCOUNT:
            column = f"dms_{member_type.logical_name}id"
            body[f"{column}@odata.bind"] = f"/{entity_path(member_type.entity_set, regarding)}"
        # Create-only: a row already there is this unsubscribe recorded by another run.
        request = BatchRequest(
            "PATCH",
            entity_path(LIST_UNSUBSCRIBER.entity_set, key),
            body,
            headers={"If-None-Match": "*"},
        )
        return request, key

    def _hold(self, row: Suppression) -> None:
        holds = self.run.cursor.holds
        book = str(self.target.book_id)
        moment = row.date_removed or self.run.cursor.started
        if book not in holds or moment < holds[book]:
            holds[book] = moment


def _text(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _finish_list(run: Run[UnsubscribesCursor], name: str, dynamic: bool) -> None:
    """The list's detail row, when it had unsubscribes or problems."""
    cursor = run.cursor
    tally = cursor.tally
    counts = tally.counts
    if not counts.read and not tally.errors:
        return
    status = AuditStatus.COMPLETED
    if tally.errors:
        failed_all = counts.failed >= counts.read
        status = AuditStatus.FAILED if failed_all else AuditStatus.COMPLETED_WITH_ERRORS
    run.detail(AuditDetail(item=name, status=status, message=_message(tally, dynamic),
                           counts=counts))  # fmt: skip
    cursor.lists += 1
    if status is not AuditStatus.COMPLETED:
        cursor.failed_lists += 1


def _message(tally: ListTally, dynamic: bool) -> str:
    counts = tally.counts
    if not counts.read and tally.errors == [Messages.LIST_NULL]:
        return Messages.LIST_NULL
    parts = [
        f"{counts.read} unsubscribed",
        f"{counts.deleted} removed from the marketing list",
        f"{counts.created} list unsubscribers recorded",
    ]
    if tally.already:
        parts.append(f"{tally.already} recorded already")
    text = ", ".join(parts)
    if dynamic:
        text += f" ({DYNAMIC})"
    if tally.errors:
        text += f"; {counts.failed} failed: " + "; ".join(tally.errors)
    return text


def _result(run: Run[UnsubscribesCursor]) -> SyncResult:
    cursor = run.cursor
    counts = run.counts
    if not cursor.lists:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = (
        f"{cursor.lists} marketing lists: {counts.deleted} members removed, "
        f"{counts.created} list unsubscribers recorded"
    )
    if not counts.failed and not cursor.failed_lists:
        return SyncResult(AuditStatus.COMPLETED, text)
    text += f"; {counts.failed} unsubscribers failed"
    status = (
        AuditStatus.FAILED
        if cursor.failed_lists == cursor.lists and not (counts.deleted or counts.created)
        else AuditStatus.COMPLETED_WITH_ERRORS
    )
    return SyncResult(status, text)
