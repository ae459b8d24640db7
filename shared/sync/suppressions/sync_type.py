"""SuppressionLists: the account's suppression list and the CRM suppression list, both ways.

Phases, in this order, each checkpointed after every page:
1. push: email suppression rows added in Dynamics since the last run -> the platform
   (`push.py`); first, so every CRM row has reached the platform before phase 4 reads it.
2. requests: rows with Request Resubscribe -> the platform's resubscribe (`resubscribe.py`).
3. pull: `suppressed-since` -> rows and Do not Bulk Email on contacts and leads (`pull.py`).
4. resubscribed: contacts subscribed again in the platform -> their rows removed (`resubscribe.py`).
Each direction has its own watermark (SyncState `SuppressionLists-Dynamics`, `-Platform`,
`-Resubscribed`); a page whose writes failed for a reason that can pass holds its watermark back.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.paging import LinkPosition
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.suppressions import Suppression
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
from shared.sync.suppressions import intent, lookup, pull, push, resubscribe
from shared.sync.suppressions.intent import PagePlan
from shared.sync.suppressions.lookup import ROW_COLUMNS, ROWS
from shared.sync_types import SyncType

PAGE_SIZE = 1000  # suppressed-since and Dataverse pages; one lookup $batch per page
CONTACT_PAGE = 1000  # v3 contacts modified since the last run, a page at a time
SKEW = timedelta(minutes=1)  # read from a little before each watermark (clocks differ)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # a first run reads the whole suppression list
MAX_FAILURES_KEPT = 50  # failed keys named in the cursor (and the audit details)
Phase = Literal["push", "requests", "pull", "resubscribed"]


class Tally(BaseModel):
    pushed: int = 0
    added_unsubscribed: int = 0
    resubscribe_outcomes: dict[str, int] = {}
    rows_created: int = 0
    rows_existing: int = 0
    flagged: int = 0
    not_in_dynamics: int = 0
    rows_removed: int = 0
    unflagged: int = 0
    notes: int = 0
    failures: dict[str, str] = {}  # key (email or row id) -> why, the first MAX_FAILURES_KEPT
    failed: int = 0

    def fail(self, failures: dict[str, str]) -> None:
        self.failed += len(failures)
        for key, why in failures.items():
            if len(self.failures) < MAX_FAILURES_KEPT:
                self.failures[key] = why[:300]

    def changed_anything(self) -> bool:
        return any(
            (
                self.pushed,
                self.resubscribe_outcomes,
                self.rows_created,
                self.flagged,
                self.rows_removed,
                self.unflagged,
                self.failed,
            )
        )


class SuppressionsCursor(Cursor):
    version: ClassVar[int] = 1

    phase: Phase = "push"
    push_window: WatermarkWindow
    pull_window: WatermarkWindow
    resubscribed_window: WatermarkWindow
    position: LinkPosition | None = None  # Dataverse nextLink within push or requests
    skip: int = 0  # suppressed-since offset
    marker: str | None = None  # v3 contacts marker
    tally: Tally = Tally()
    in_flight: PagePlan | None = None  # a page's intent, saved before its writes


class SuppressionLists(SyncTypeTemplate[SuppressionsCursor]):
    declaration = SyncDeclaration(
        SyncType.SUPPRESSION_LISTS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.BOTH,
        summary="suppressions <-> email suppression rows, Do not Bulk Email, resubscribes",
    )
    cursor_model = SuppressionsCursor

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[SuppressionsCursor]) -> SuppressionsCursor:
        key = SyncType.SUPPRESSION_LISTS.value
        return SuppressionsCursor(
            push_window=run.watermark(f"{key}-Dynamics"),
            pull_window=run.watermark(f"{key}-Platform"),
            resubscribed_window=run.watermark(f"{key}-Resubscribed"),
        )

    def watermarks(self, cursor: SuppressionsCursor) -> list[WatermarkWindow]:
        return [cursor.push_window, cursor.pull_window, cursor.resubscribed_window]

    def run(self, run: Run[SuppressionsCursor]) -> Steps:
        cursor = run.cursor
        if cursor.phase == "push":
            yield from self._push(run)
            cursor.phase, cursor.position = "requests", None
            yield
        if cursor.phase == "requests":
            yield from self._requests(run)
            cursor.phase, cursor.position = "pull", None
            yield
        if cursor.phase == "pull":
            yield from self._pull(run)
            cursor.phase = "resubscribed"
            yield
        yield from self._resubscribed(run)
        return _result(run)

    # Phases -----------------------------------------------------------------------------------

    def _push(self, run: Run[SuppressionsCursor]) -> Steps:
        cursor, tally = run.cursor, run.cursor.tally
        platform = run.platform(DotdigitalClient)
        where = push.push_filter(run.account.account_id, cursor.push_window.read_from(SKEW))
        pages = run.services.dataverse().iter_pages(
            ROWS, push.PUSH_COLUMNS, filter=where, page_size=self.page_size,
            resume=cursor.position,
        )  # fmt: skip
        for page in pages:
            result = push.push_page(platform, page.records)
            tally.pushed += result.suppressed
            tally.added_unsubscribed += len(result.added_unsubscribed)
            tally.fail(result.failures)
            run.counts += Counts(
                read=result.read, created=result.suppressed, failed=len(result.failures)
            )
            if page.resume is None:
                return SyncResult()
            cursor.position = page.resume
            yield
        return SyncResult()

    def _requests(self, run: Run[SuppressionsCursor]) -> Steps:
        cursor = run.cursor
        where = resubscribe.request_filter(run.account.account_id)
        dataverse = run.services.dataverse()
        pages = dataverse.iter_pages(
            ROWS, ROW_COLUMNS, filter=where, page_size=self.page_size, resume=cursor.position
        )
        platform = run.platform(DotdigitalClient)
        position = _where(cursor.position)
        for page in pages:
            refs = [lookup.row_ref(row) for row in page.records]
            first = refs[0].row_id if refs else ""
            _written_before(run, position, first)
            now = run.services.clock()
            work = resubscribe.plan_requests(dataverse, platform, run.account, page.records, now)
            plan = yield from _intent(run, "requests", position, first, work.planned, work.requests)
            page_tally = intent.settle(resubscribe.send(dataverse, work), work.planned, plan)
            cursor.in_flight = None
            _add_requests(run, page_tally)
            if page.resume is None:
                return SyncResult()
            cursor.position = page.resume
            position = _where(cursor.position)
            yield
        _written_before(run, position, None)
        return SyncResult()

    def _pull(self, run: Run[SuppressionsCursor]) -> Steps:
        cursor, tally = run.cursor, run.cursor.tally
        platform = run.platform(DotdigitalClient)
        dataverse = run.services.dataverse()
        since = cursor.pull_window.read_from(SKEW) or EPOCH
        pages = platform.iter_suppressions_since(since, select=self.page_size, skip=cursor.skip)
        for page in pages.pages():
            work = pull.plan_page(dataverse, run.account, page.items)
            position = str(cursor.skip)
            plan = yield from _intent(run, "pull", position, "", work.planned, work.requests)
            result = intent.settle(pull.send_page(dataverse, work), work.planned, plan)
            cursor.in_flight = None
            tally.rows_created += result.rows_created
            tally.rows_existing += result.rows_existing
            tally.flagged += result.flagged
            tally.not_in_dynamics += result.not_in_dynamics
            tally.fail(result.failures)
            if result.failures:
                cursor.pull_window.hold_back(_earliest(page.items, result.failures))
            run.counts += Counts(
                read=result.read,
                created=result.rows_created,
                updated=result.flagged,
                failed=len(result.failures),
            )
            if page.resume is None:
                return SyncResult()
            cursor.skip = page.resume
            yield
        return SyncResult()

    def _resubscribed(self, run: Run[SuppressionsCursor]) -> Steps:
        cursor, tally = run.cursor, run.cursor.tally
        window = cursor.resubscribed_window
        # A first run has no earlier rows to look at but its own resubscribe requests.
        since = window.read_from(SKEW) or window.started
        platform = run.platform(DotdigitalClient)
        dataverse = run.services.dataverse()
        contacts = platform.iter_contacts(
            modified_since=since,
            include=("channelProperties",),
            limit=CONTACT_PAGE,
            marker=cursor.marker,
        )
        for page in contacts.pages():
            work = resubscribe.plan_resubscribed(dataverse, run.account, page.items, window.started)
            position = cursor.marker or ""
            plan = yield from _intent(
                run, "resubscribed", position, "", work.planned, work.requests
            )
            result = intent.settle(resubscribe.send(dataverse, work), work.planned, plan)
            cursor.in_flight = None
            tally.rows_removed += result.rows_removed
            tally.unflagged += result.unflagged
            tally.notes += result.notes
            tally.fail(result.failures)
            if result.failures:
                window.keep_old()  # read this range again next time
            run.counts += Counts(
                deleted=result.rows_removed,
                updated=result.unflagged,
                failed=len(result.failures),
            )
            if page.resume is None:
                return SyncResult()
            cursor.marker = page.resume
            yield
        return SyncResult()


def _intent(
    run: Run[SuppressionsCursor],
    phase: str,
    position: str,
    first: str,
    planned: object,
    requests: Sequence[object],
) -> Generator[None, None, dict[str, int]]:
    """The page's counts as planned: saved now, before its writes (a checkpoint that does not
    pause), or as the dead attempt that wrote this page saved them."""
    cursor = run.cursor
    plan = cursor.in_flight
    if plan is not None and (plan.phase, plan.position, plan.first) == (phase, position, first):
        return plan.counts
    counts = intent.flat(planned)
    if not requests:  # nothing to write: a replay decides the same
        return counts
    cursor.in_flight = intent.PagePlan(phase=phase, position=position, first=first, counts=counts)
    run.save_only()
    yield
    return counts


def _written_before(run: Run[SuppressionsCursor], position: str, first: str | None) -> None:
    """A requests page planned by a dead attempt and not the page read now (`first`, None: no
    page) was written: its rows left the filter with their flag cleared. Its counts are the
    plan's."""
    stale = run.cursor.in_flight
    if stale is None or (stale.phase, stale.position) != ("requests", position):
        return
    if stale.first != first:
        _add_requests(run, intent.restore(resubscribe.ResubscribeTally(), stale.counts))
        run.cursor.in_flight = None


def _where(position: LinkPosition | None) -> str:
    return position.model_dump_json() if position is not None else ""


def _add_requests(run: Run[SuppressionsCursor], page: resubscribe.ResubscribeTally) -> None:
    tally = run.cursor.tally
    for status, number in page.outcomes.items():
        tally.resubscribe_outcomes[status] = tally.resubscribe_outcomes.get(status, 0) + number
    tally.notes += page.notes
    tally.fail(page.failures)
    run.counts += Counts(read=page.read, updated=page.rows_updated, failed=len(page.failures))


def _earliest(items: Sequence[Suppression], failures: dict[str, str]) -> datetime | None:
    """The earliest suppression whose write failed: the watermark stays at or before it."""
    dates = [i.date_removed for i in items if i.email.lower() in failures and i.date_removed]
    return min(dates) if dates else None


def _result(run: Run[SuppressionsCursor]) -> SyncResult:
    tally = run.cursor.tally
    for key, why in tally.failures.items():
        run.detail(AuditDetail(item=key, status=AuditStatus.FAILED, message=why))
    if not tally.changed_anything():
        return SyncResult(message=Messages.NO_NEW_OBJECTS)
    parts = [
        f"to Dynamics: {tally.rows_created} suppression records created, "
        f"{tally.flagged} contacts/leads set Do not Bulk Email"
        + (f", {tally.not_in_dynamics} emails not in Dynamics" if tally.not_in_dynamics else ""),
        f"to the platform: {tally.pushed} suppressed",
    ]
    if tally.resubscribe_outcomes:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(tally.resubscribe_outcomes.items()))
        parts.append(f"resubscribe requests: {outcomes}")
    if tally.rows_removed or tally.unflagged:
        parts.append(
            f"resubscribed: {tally.rows_removed} suppression records removed, "
            f"{tally.unflagged} Do not Bulk Email cleared"
        )
    if tally.failed:
        parts.append(f"{tally.failed} failed")
    status = AuditStatus.COMPLETED_WITH_ERRORS if tally.failed else AuditStatus.COMPLETED
    return SyncResult(status, "; ".join(parts))
