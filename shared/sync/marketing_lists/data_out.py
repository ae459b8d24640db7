"""MarketingListsDataOut: email-activated marketing lists of this account -> address books.

The lists: active lists with the email-activated flag whose email account is this account,
each pushed to its own address book (`list_push` does one list). A list linked
to this account's address book that now names another email account is reported
("Marketing List EmailAccount Id does not match CrmEmailAccountId") and not synced; a linked
list that no longer exists or cannot be read is reported ("CrmMarketingList is null. Sync
aborted."), and a deleted one is unlinked (its address book stays as it is). A linked list
that was deactivated or is no longer email-activated is left alone, link and book included.

"Sync only open leads and active contacts" is read when the run starts and holds for the whole
run (seed: the setting applies to lists synced after it changed).

Audit: one detail row per list that had anything to report (members sent, removed or failed,
or the list failed), with its counts. No detail row at all: "No new objects to sync". Status:
Completed; Completed With Errors when a list or a member failed; Failed when every list tried
failed.

Cursor (`DataOutCursor`): the plan (list ids in Dataverse's order), the next list, the list in
progress (`ListProgress`) and the run's running stats. It is saved after each list, and within
a list after each import round and each page read without pending work (see `list_push`).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from dataclasses import dataclass

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages, list_item_with_id
from shared.clients.dataverse.lists import MarketingList
from shared.clients.dotdigital.client import DotdigitalClient
from shared.engine import (
    Cursor,
    Direction,
    LastRunDidNotFail,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.errors import SyncError
from shared.messaging.contract import Trigger
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.marketing_lists.list_push import (
    FLUSH_AT,
    PAGE_SIZE,
    ListProgress,
    ListPusher,
    PushSession,
    labels_by_key,
)
from shared.sync.marketing_lists.snapshot_repo import list_members
from shared.sync_types import SyncType
from shared.webhooks.targets import TargetKind

log = logging.getLogger(__name__)

MAX_MESSAGE = 1000
MAX_ERRORS = 5  # distinct list errors quoted in the run's message
MAX_NAMED = 5  # lists named beside one error


class FailedAlike(BaseModel):
    """Lists that failed with one error: the first few names, and how many in all."""

    names: list[str] = []
    count: int = 0


class RunStats(BaseModel):
    details: int = 0  # detail rows written (across slices)
    lists_ok: int = 0
    lists_failed: int = 0
    members_failed: int = 0
    sent: int = 0
    removed: int = 0
    errors: list[str] = []  # "list: error" of cursors saved before `failures` existed
    failures: dict[str, FailedAlike] = {}  # error -> the lists that failed with it


class DataOutCursor(Cursor):
    plan: list[str] = []  # email-activated list ids of this account, in Dataverse's order
    next: int = 0
    current: ListProgress | None = None  # the list in progress
    only_eligible: bool = True  # the account's setting when the run started
    shared_names: list[str] = []  # list names used twice: their detail rows name the id
    stats: RunStats = RunStats()
    unlink: list[str] = []  # linked lists found deleted: unlinked once this cursor is saved


@dataclass(frozen=True)
class WebhookScope:
    lists: frozenset[str]
    member_types: frozenset[str]

    def wants(self, list_id: str, member_type: str = "") -> bool:
        return list_id.lower() in self.lists or member_type in self.member_types


# Mapped fields may name labels the platform does not have yet; pushing lists then would lose
# those values, so the marketing list sync (this and the two-way run, never MarketingListsDataIn
# on its own) does not start after a DataLabels sync that failed. A label the platform refuses
# leaves that sync Completed With Errors and blocks nothing (the product's rule).
DATA_LABELS_GATE = LastRunDidNotFail(SyncType.DATA_LABELS, Messages.DATA_LABELS_FAILED)


def _same_account(list_account: str | None, account_id: str) -> bool:
    return (list_account or "").strip().casefold() == account_id.casefold()


class MarketingListsDataOut(SyncTypeTemplate[DataOutCursor]):
    declaration = SyncDeclaration(
        SyncType.MARKETING_LISTS_DATA_OUT,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_PLATFORM,
        prerequisites=(DATA_LABELS_GATE,),
        summary="email-activated marketing lists -> address books",
    )
    cursor_model = DataOutCursor

    def __init__(self, *, page_size: int = PAGE_SIZE, flush_at: int = FLUSH_AT) -> None:
        self.page_size = page_size  # Dataverse members per page
        self.flush_at = flush_at  # changed members per import round

    def start(self, run: Run[DataOutCursor]) -> DataOutCursor:
        return _Lists(run, self).plan()

    def start_for_lists(self, run: Run[DataOutCursor], list_ids: Iterable[str]) -> DataOutCursor:
        """The plan of a run inside another type's that needs these lists synced first (an
        email send syncs its list): only these lists, whatever started the outer run."""
        only = WebhookScope(frozenset(i.lower() for i in list_ids), frozenset())
        return _Lists(run, self).plan(only)

    def run(self, run: Run[DataOutCursor]) -> Steps:
        return (yield from _Lists(run, self).run())


class _Lists:
    """One slice of the run, from the cursor on."""

    def __init__(self, run: Run[DataOutCursor], config: MarketingListsDataOut) -> None:
        self.ctx = run
        self.config = config
        self.account_id = run.account.account_id
        # The lists as the plan read them: the first slice pushes them without reading again.
        self.lists: dict[str, MarketingList] = run.memo.setdefault("lists", {})
        self.session: PushSession | None = None

    @property
    def cursor(self) -> DataOutCursor:
        return self.ctx.cursor

    @property
    def stats(self) -> RunStats:
        return self.ctx.cursor.stats

    # Plan ----------------------------------------------------------------------------------

    def run(self) -> Steps:
        cursor = self.cursor
        if cursor.unlink:  # after the plan's checkpoint: a redelivered run still reports them
            services = self.ctx.services
            for list_id in cursor.unlink:
                list_members(services).delete_list(self.account_id, list_id)
                list_links(services).delete(self.account_id, list_id)
            cursor.unlink = []
            yield
        while cursor.next < len(cursor.plan):
            yield from self._sync_list(cursor.plan[cursor.next])
            cursor.next += 1
            cursor.current = None
            yield
        return self._result()

    def plan(self, only: WebhookScope | None = None) -> DataOutCursor:
        """The lists to sync, in Dataverse's order; linked lists that cannot be are reported.
        `only`: the lists a caller names (else a Webhook run's targets, else every list)."""
        services = self.ctx.services
        dataverse = services.dataverse()
        links = {link.list_id: link for link in list_links(services).for_account(self.account_id)}
        self.ctx.cursor = cursor = DataOutCursor(
            only_eligible=self.ctx.account.sync_only_open_leads_and_active_contacts
        )
        plan: list[str] = []
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        scope = only or self._webhook_scope()
        if scope is not None:
            links = {list_id: link for list_id, link in links.items() if scope.wants(list_id)}
        for mlist in dataverse.iter_marketing_lists(active_only=True):
            seen.add(mlist.list_id)
            if not mlist.email_activated:
                continue
            if scope is not None and not scope.wants(mlist.list_id, mlist.member_type.logical_name):
                continue
            if _same_account(mlist.email_account_id, self.account_id):
                plan.append(mlist.list_id)
                self.lists[mlist.list_id] = mlist
            elif mlist.list_id in links:
                problems.append((mlist.name, Messages.LIST_ACCOUNT_MISMATCH))
        gone: list[ListLink] = []
        for list_id, link in links.items():
            if list_id in seen:
                continue
            try:
                found = dataverse.get_marketing_list(list_id)
            except SyncError as error:
                log.warning("Linked marketing list %s could not be read: %s", list_id, error)
                problems.append((link.list_name, Messages.LIST_NULL))
                continue
            if found is None:
                problems.append((link.list_name, Messages.LIST_NULL))
                gone.append(link)
            elif found.email_activated and not _same_account(
                found.email_account_id, self.account_id
            ):
                problems.append((found.name, Messages.LIST_ACCOUNT_MISMATCH))
            # else: deactivated, or no longer email-activated: not synced, link kept
        for name, message in problems:
            self._detail(AuditDetail(item=name or "(unnamed list)", status=AuditStatus.FAILED,
                                     message=message))  # fmt: skip
            self.stats.lists_failed += 1
            self._error(name, message)
        names = [self.lists[list_id].name for list_id in plan]
        cursor.plan = plan
        # Detail rows are keyed by item: lists sharing a name are told apart by their id.
        cursor.shared_names = sorted({name for name in names if names.count(name) > 1})
        cursor.unlink = [link.list_id for link in gone]
        return cursor

    def _webhook_scope(self) -> WebhookScope | None:
        """A Webhook (or Retry) run syncs only the lists its pending targets name, and the lists
        of the member types whose members changed (which lists hold a member, the list push finds
        out by reading them); other runs sync every list."""
        if self.ctx.trigger not in (Trigger.WEBHOOK.value, Trigger.RETRY.value):
            return None
        pending = self.ctx.services.webhook_targets.pending(
            self.account_id, SyncType.MARKETING_LISTS_DATA_OUT
        )
        if any(target.kind is TargetKind.ALL for target in pending):
            return None
        return WebhookScope(
            lists=frozenset(t.record_id for t in pending if t.kind is TargetKind.LIST),
            member_types=frozenset(t.entity for t in pending if t.kind is TargetKind.MEMBER),
        )

    # One list ------------------------------------------------------------------------------

    def _sync_list(self, list_id: str) -> Generator[None, None, None]:
        saved = self.cursor.current
        progress = (
            saved
            if saved is not None and saved.list_id == list_id
            else ListProgress(list_id=list_id)
        )
        mlist = self._marketing_list(progress)
        if mlist is None:
            return
        self.cursor.current = progress
        progress.name = mlist.name  # the audit names the list even if nothing else was reached
        try:
            yield from ListPusher(self._session(), mlist, progress).run()
        except (SyncError, ValueError) as error:  # ValueError: e.g. a malformed FetchXML query
            log.warning("Marketing list %s failed: %s", list_id, error)
            progress.error = str(error)
        self._finish(progress, mlist.member_type.logical_name)

    def _marketing_list(self, progress: ListProgress) -> MarketingList | None:
        """The list as Dataverse has it now; None (reported) if it cannot be synced."""
        mlist = self.lists.get(progress.list_id)
        if mlist is not None:
            return mlist
        name = progress.name or progress.list_id
        try:
            mlist = self.ctx.services.dataverse().get_marketing_list(progress.list_id)
        except SyncError as error:
            log.warning("Marketing list %s could not be read: %s", progress.list_id, error)
            mlist = None
        if mlist is None:
            self._list_failed(name, Messages.LIST_NULL)
            return None
        if not mlist.active or not mlist.email_activated:
            return None  # deactivated since the run started: not synced
        if not _same_account(mlist.email_account_id, self.account_id):
            self._list_failed(mlist.name, Messages.LIST_ACCOUNT_MISMATCH)
            return None
        return mlist

    def _session(self) -> PushSession:
        if self.session is None:
            services = self.ctx.services
            self.session = PushSession(
                services=services,
                account_id=self.account_id,
                dataverse=services.dataverse(),
                platform=self.ctx.platform(DotdigitalClient),
                mappings=services.mappings.for_account(self.account_id),
                labels=labels_by_key(services.data_labels.for_account(self.account_id)),
                only_eligible=self.cursor.only_eligible,
                links={
                    link.list_id: link for link in list_links(services).for_account(self.account_id)
                },
                out_of_time=self.ctx.out_of_time,
                save_only=self.ctx.save_only,
                page_size=self.config.page_size,
                flush_at=self.config.flush_at,
            )
        return self.session

    def _finish(self, p: ListProgress, member_type: str) -> None:
        counts = Counts(
            read=p.read, created=p.created, updated=p.updated, deleted=p.removed, failed=p.failed
        )
        self.ctx.counts += counts
        self.stats.sent += p.created + p.updated
        self.stats.removed += p.removed
        self.stats.members_failed += p.failed
        if p.error:
            self.stats.lists_failed += 1
            self._error(p.name or p.list_id, p.error)
        else:
            self.stats.lists_ok += 1
        if not p.active:
            return
        status = AuditStatus.COMPLETED
        if p.error:
            status = AuditStatus.FAILED
        elif p.failed:
            status = AuditStatus.COMPLETED_WITH_ERRORS
        item = p.name or p.list_id
        if p.name in self.cursor.shared_names:
            item = list_item_with_id(p.name, p.list_id)
        self._detail(
            AuditDetail(
                item=item,
                status=status,
                message=detail_message(p, member_type)[:MAX_MESSAGE],
                counts=counts,
            )
        )

    def _list_failed(self, name: str, message: str) -> None:
        self._detail(AuditDetail(item=name, status=AuditStatus.FAILED, message=message))
        self.stats.lists_failed += 1
        self._error(name, message)

    # Bookkeeping ---------------------------------------------------------------------------

    def _detail(self, detail: AuditDetail) -> None:
        self.ctx.detail(detail)
        self.stats.details += 1

    def _error(self, name: str, message: str) -> None:
        """Lists that failed alike (Dotdigital unreachable fails every list) share one entry."""
        failures = self.stats.failures
        message = message[:300]
        if message not in failures:
            if len(failures) >= MAX_ERRORS:
                return
            failures[message] = FailedAlike()
        alike = failures[message]
        alike.count += 1
        if len(alike.names) < MAX_NAMED:
            alike.names.append(name[:100])

    def _result(self) -> SyncResult:
        s = self.stats
        if s.details == 0:
            return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
        if s.lists_failed and not s.lists_ok:
            status = AuditStatus.FAILED
        elif s.lists_failed or s.members_failed:
            status = AuditStatus.COMPLETED_WITH_ERRORS
        else:
            status = AuditStatus.COMPLETED
        lists = s.lists_ok + s.lists_failed
        message = (
            f"{lists} marketing list{'s' if lists != 1 else ''}: {s.sent} members sent, "
            f"{s.removed} removed, {s.members_failed} failed"
        )
        errors = s.errors + [
            f"{_names(alike)}: {error}" for error, alike in s.failures.items()
        ]  # fmt: skip
        if errors:
            message = " ".join(map(_sentence, [message, *errors]))
        return SyncResult(status, message[:MAX_MESSAGE])


def _names(alike: FailedAlike) -> str:
    shown = ", ".join(alike.names)
    more = alike.count - len(alike.names)
    return f"{shown} and {more} more" if more > 0 else shown


def _sentence(text: str) -> str:
    """`text` ending as a sentence, so texts joined after it read as the next one."""
    return text if text.endswith((".", "!", "?")) else f"{text}."


def detail_message(p: ListProgress, member_word: str) -> str:
    """One line for the list's audit detail."""
    sent = p.created + p.updated
    parts = [f"{sent} {member_word}s sent ({p.created} new, {p.updated} updated)"]
    if p.removed:
        unlisted = f", {p.unlisted} not in the marketing list" if p.unlisted else ""
        parts.append(f"{p.removed} removed{unlisted}")
    if p.not_eligible:
        parts.append(f"{p.not_eligible} not sent as not open/active")
    if p.no_email:
        parts.append(f"{p.no_email} without an email address")
    if p.failed:
        named = f": {'; '.join(p.failures)}" if p.failures else ""
        parts.append(f"{p.failed} failed{named}")
    text = ", ".join(parts)
    if p.book_name:
        text = f"Address book '{p.book_name}': {text}"
    if not p.error:
        return text
    if not p.book_name and not (sent or p.removed or p.failed):
        return p.error  # failed before reaching its address book (e.g. Dotdigital unreachable)
    return f"{_sentence(p.error)} {text}"
