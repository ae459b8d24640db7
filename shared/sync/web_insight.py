"""WebInsight ("Web behaviour tracking"): WebInsight page views -> Web Page View rows.

Reads the account's page views since the watermark (`GET /v2/contacts/web-insight/page-views/
since-date/{date}`, INFERRED: see `shared.clients.dotdigital.web_insight`) and records each as
a `dms_webpageview` row: URL, date viewed, duration, source WebInsight (2), the email and the
email account, linked to the contact with that email (else the lead, else the account; the
lowest id when several match; none when Dynamics has no record yet, the email is kept).

A row's id is derived from the account and the platform's view id (uuid5), written create-only
(`If-None-Match: *`): a re-read, a redelivered message or a replayed page never makes a second
row. WebInsight keeps a session open until 35 minutes without activity, so a view may become
readable after later ones: each run reads from 40 minutes before the watermark, and the rows
met again count as "recorded already". A page's plan (rows to create) is checkpointed before
its writes, so a replay after a kill counts them as an unkilled run does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import check_guid, entity_path
from shared.clients.dataverse.paging import collection_target
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.web_insight import PageView
from shared.dynamics_schema.engagement import WEB_PAGE_VIEW
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
from shared.sync.email_lookup import EmailQuery, Found, find_by_email, groups
from shared.sync_types import SyncType

PAGE_SIZE = 1000  # views per page: a $batch of lookups and one of creates each
WATERMARK_KEY = f"{SyncType.WEB_INSIGHT.value}-Watermark"
# A session's views can be stored up to 35 idle minutes after they happened, plus clock skew.
OVERLAP = timedelta(minutes=40)
FIRST_READ_FROM = datetime(2000, 1, 1, tzinfo=UTC)  # a first run reads every view
ROW_NAMESPACE = uuid.UUID("5d0c7a3e-2f1b-4c8e-9a7d-6b4e1f3c2a90")
SOURCE_WEBINSIGHT = 2  # dms_source: 1 Email campaign, 2 WebInsight
ALREADY_RECORDED = 412  # create-only PATCH of a row that exists: an earlier read wrote it
MAX_FAILURES = 20
FAILED_ITEM = "Page views that failed"
NO_RECORD = "no Dynamics record"  # the detail row of views whose email matched no record
# Who a view is linked to, in order of preference: (table, entity set).
TARGETS = (("contact", "contacts"), ("lead", "leads"), ("account", "accounts"))
PRIMARY_ID = WEB_PAGE_VIEW.primary_id


def row_id(account_id: str, view_id: int) -> str:
    return str(uuid.uuid5(ROW_NAMESPACE, f"{account_id.lower()}/webinsight/{view_id}"))


class PagePlan(BaseModel):
    """A page whose writes are under way: where it starts and what it set out to do."""

    skip: int
    created: dict[str, int]  # target table (or NO_RECORD) -> rows to create
    already: int


class WebInsightCursor(Cursor):
    version: ClassVar[int] = 1

    window: WatermarkWindow
    skip: int = 0  # v2 position after the last page done
    created: dict[str, int] = {}  # target table (or NO_RECORD) -> rows created
    already: int = 0  # rows an earlier read recorded
    failures: list[str] = []  # "<email>: <why>", the first MAX_FAILURES
    in_flight: PagePlan | None = None  # saved before a page's writes, cleared after them


class WebInsight(SyncTypeTemplate[WebInsightCursor]):
    declaration = SyncDeclaration(
        SyncType.WEB_INSIGHT,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="WebInsight page views -> dms_webpageview rows (source WebInsight)",
    )
    cursor_model = WebInsightCursor

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[WebInsightCursor]) -> WebInsightCursor:
        return WebInsightCursor(window=run.watermark(WATERMARK_KEY))

    def watermarks(self, cursor: WebInsightCursor) -> list[WatermarkWindow]:
        return [cursor.window]

    def run(self, run: Run[WebInsightCursor]) -> Steps:
        cursor = run.cursor
        platform = run.platform(DotdigitalClient)
        writer = _ViewWriter(run, run.services.dataverse())
        views = platform.iter_page_views_since(
            cursor.window.read_from(OVERLAP) or FIRST_READ_FROM,
            select=self.page_size,
            skip=cursor.skip,
        )
        for page in views.pages():
            decision = writer.decide(page.items)
            plan = cursor.in_flight
            if plan is None or plan.skip != cursor.skip:
                # The page's intent is saved before its writes: were the worker to die after
                # them, the replay of this page finds its rows there and counts them as its own.
                plan = decision.plan(cursor.skip)
                if decision.writes:  # nothing to write: a replay decides the same
                    cursor.in_flight = plan
                    run.save_only()
                    yield
            writer.write(decision, plan, read=len(page.items))
            cursor.in_flight = None
            if page.resume is None:
                break
            cursor.skip = page.resume
            yield
        return _result(run)


@dataclass
class _Decision:
    """What a page sets out to do, decided from its lookups (no write made yet)."""

    writes: list[tuple[PageView, str, BatchRequest]] = field(default_factory=list)  # target
    failures: list[tuple[PageView, str]] = field(default_factory=list)  # lookups that failed
    already: int = 0  # rows recorded by an earlier read (found by id)

    def plan(self, skip: int) -> PagePlan:
        created: dict[str, int] = {}
        for _, target, _ in self.writes:
            created[target] = created.get(target, 0) + 1
        return PagePlan(skip=skip, created=created, already=self.already)


class _ViewWriter:
    """One page of views: find who they are about and which are recorded, create the rest."""

    def __init__(self, run: Run[WebInsightCursor], dataverse: DataverseClient) -> None:
        self.run = run
        self.dataverse = dataverse
        self.account_id = run.account.account_id

    def decide(self, views: Sequence[PageView]) -> _Decision:
        usable = [v for v in views if v.url and v.date_viewed is not None]
        emails = sorted({v.email.strip().lower() for v in usable if v.email.strip()})
        queries = [EmailQuery(entity_set, f"{table}id") for table, entity_set in TARGETS]
        found = find_by_email(self.dataverse, queries, emails)
        recorded, unknown = self._recorded([row_id(self.account_id, v.id) for v in usable])
        decision = _Decision()
        for view in usable:
            email = view.email.strip().lower()
            key = row_id(self.account_id, view.id)
            problem = unknown.get(key) or next((f.failed[email] for f in found
                                                if email in f.failed), None)  # fmt: skip
            if problem:
                decision.failures.append((view, problem))
            elif key in recorded:
                decision.already += 1
            else:
                target, request = self._create(view, key, found)
                decision.writes.append((view, target, request))
        return decision

    def write(self, decision: _Decision, plan: PagePlan, *, read: int) -> None:
        """Send the decided creates; the page counts as its plan, less what did not happen.

        On a replay (the plan was saved before a kill) the lookup finds the dead attempt's rows
        recorded: the plan still counts them as this run's."""
        cursor = self.run.cursor
        created = dict(plan.created)
        already = plan.already
        # A dead attempt's counts were never saved (the page's end is), so this attempt's
        # failures are the page's.
        failed = len(decision.failures)
        for view, problem in decision.failures:
            self._fail(view, problem)
        if decision.writes:
            outcome = self.dataverse.execute_batch([request for _, _, request in decision.writes])
            for (view, target, _), result in zip(decision.writes, outcome.results, strict=True):
                # A batch sent again after its answer was lost meets its own first send's row.
                if result.ok or (result.resent and result.status == ALREADY_RECORDED):
                    continue
                created[target] = created.get(target, 0) - 1
                if result.status == ALREADY_RECORDED:
                    already += 1  # recorded by another run since the lookup
                    continue
                failed += 1
                self._fail(view, result.why)
        for target, count in created.items():
            if count > 0:
                cursor.created[target] = cursor.created.get(target, 0) + count
        cursor.already += already
        self.run.counts += Counts(read=read, created=sum(c for c in created.values() if c > 0),
                                  failed=failed)  # fmt: skip

    def _recorded(self, keys: list[str]) -> tuple[set[str], dict[str, str]]:
        """Which of these rows exist already, in one `$batch` of filtered GETs; and the keys
        whose lookup failed (key -> why)."""
        batches = list(groups(keys))
        requests = [
            BatchRequest.get(
                collection_target(
                    WEB_PAGE_VIEW.entity_set,
                    [PRIMARY_ID],
                    filter=" or ".join(f"{PRIMARY_ID} eq {check_guid(k)}" for k in group),
                )
            )
            for group in batches
        ]
        found: set[str] = set()
        failed: dict[str, str] = {}
        if not requests:
            return found, failed
        results = self.dataverse.execute_batch(requests).results
        for group, result in zip(batches, results, strict=True):
            if not result.ok:
                failed.update(dict.fromkeys(group, result.why))
                continue
            for row in self.dataverse.batch_rows(result, WEB_PAGE_VIEW.entity_set):
                found.add(str(row.get(PRIMARY_ID) or "").lower())
        return found, failed

    def _create(self, view: PageView, key: str, found: list[Found]) -> tuple[str, BatchRequest]:
        email = view.email.strip().lower()
        viewed = view.date_viewed
        body: dict[str, Any] = {
            "dms_url": view.url[:1000],
            "dms_email": view.email.strip()[:100] or None,
            "dms_emailaccountid": self.account_id,
            "dms_viewedon": None if viewed is None else viewed.isoformat().replace("+00:00", "Z"),
            "dms_durationseconds": view.duration_seconds,
            "dms_source": SOURCE_WEBINSIGHT,
        }
        target = NO_RECORD
        for (table, entity_set), answer in zip(TARGETS, found, strict=True):
            ids = sorted(answer.ids(email, f"{table}id"))
            if ids:
                body[f"dms_{table}id@odata.bind"] = f"/{entity_path(entity_set, ids[0])}"
                target = table
                break
        # Create-only: a row already there is this view recorded by an earlier read.
        request = BatchRequest(
            "PATCH",
            entity_path(WEB_PAGE_VIEW.entity_set, key),
            body,
            headers={"If-None-Match": "*"},
        )
        return target, request

    def _fail(self, view: PageView, problem: str) -> None:
        cursor = self.run.cursor
        cursor.window.hold_back(view.date_viewed)
        if len(cursor.failures) < MAX_FAILURES:
            cursor.failures.append(f"{view.email or view.id}: {problem}"[:200])


def _result(run: Run[WebInsightCursor]) -> SyncResult:
    cursor = run.cursor
    counts = run.counts
    for target in (*(table for table, _ in TARGETS), NO_RECORD):
        created = cursor.created.get(target, 0)
        if created:
            run.detail(AuditDetail(item=target, status=AuditStatus.COMPLETED,
                                   message=f"{created} page views recorded",
                                   counts=Counts(created=created)))  # fmt: skip
    if counts.failed:
        more = counts.failed - len(cursor.failures)
        text = "; ".join(cursor.failures) + (f"; and {more} more" if more > 0 else "")
        run.detail(AuditDetail(item=FAILED_ITEM, status=AuditStatus.FAILED, message=text,
                               counts=Counts(failed=counts.failed)))  # fmt: skip
    if not counts.created and not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = f"{counts.read} page views read: {counts.created} recorded"
    if cursor.already:
        text += f", {cursor.already} recorded already"
    if not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, text)
    status = AuditStatus.COMPLETED_WITH_ERRORS if counts.created else AuditStatus.FAILED
    return SyncResult(status, f"{text}; {counts.failed} page views failed")
