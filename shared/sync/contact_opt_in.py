"""ContactOptIn ("Opt-in status to Dynamics"): platform opt-in types -> contacts, leads, accounts.

Reads the account's contacts changed since the watermark from the v3 Contacts service
(`GET /contacts/v3?~modified=gte::<UTC>&include=channelProperties`, whose
`channelProperties.email.optInType` is the type; seek-paged, the marker checkpointed), and
raises `dms_optintype` on every contact, lead and account with the same email
(`shared.sync.opt_in_writer`: only ever higher, across accounts, ETag-conditional). The v3 read
rather than v2 `GET /v2/contacts/modified-since/{date}`: Dotdigital's reference marks the v2
contact reads deprecated and points to v3, which filters on the same modification date, pages
up to 5,000 by marker and returns the type in the same response.

One detail row per table with records raised, and one naming the records that failed. Counts
are durable with the writes: a page's plan (the records it sets out to raise, per table) is
checkpointed before its writes, so the replay of a page whose worker died after writing counts
those raises as the page's own, as an unkilled run does, instead of finding them "unchanged".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditStatus, Messages
from shared.clients.dotdigital.client import DotdigitalClient
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
from shared.sync.opt_in_writer import TABLES, OptInWriter, rank_of
from shared.sync.record_writer import as_planned, table_details, tally
from shared.sync_types import SyncType

PAGE_SIZE = 1000  # contacts per v3 page: one $batch of lookups and one of writes each
WATERMARK_KEY = f"{SyncType.CONTACT_OPT_IN.value}-Watermark"
CLOCK_SKEW = timedelta(minutes=1)  # read a margin before the watermark: the clocks differ
FAILED_ITEM = "Records that failed"


class PagePlan(BaseModel):
    """A page whose writes are under way: where it starts and what it set out to raise."""

    marker: str | None
    raises: dict[str, int]  # table -> records


class OptInCursor(Cursor):
    version: ClassVar[int] = 1

    window: WatermarkWindow
    marker: str | None = None  # v3 position after the last page done
    updated: dict[str, int] = {}  # table -> records raised
    failures: list[str] = []  # "<key>: <why>", the first record_writer.MAX_FAILURES
    in_flight: PagePlan | None = None  # saved before a page's writes, cleared after them


class ContactOptIn(SyncTypeTemplate[OptInCursor]):
    declaration = SyncDeclaration(
        SyncType.CONTACT_OPT_IN,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="contact opt-in types -> dms_optintype of contacts, leads and accounts",
    )
    cursor_model = OptInCursor

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[OptInCursor]) -> OptInCursor:
        return OptInCursor(window=run.watermark(WATERMARK_KEY))

    def watermarks(self, cursor: OptInCursor) -> list[WatermarkWindow]:
        return [cursor.window]

    def run(self, run: Run[OptInCursor]) -> Steps:
        cursor = run.cursor
        platform = run.platform(DotdigitalClient)
        writer = OptInWriter(run.services.dataverse())
        contacts = platform.iter_contacts(
            modified_since=cursor.window.read_from(CLOCK_SKEW),
            include=("channelProperties",),
            limit=self.page_size,
            marker=cursor.marker,
        )
        for page in contacts.pages():
            values: dict[str, int] = {}
            changed: dict[
                str, datetime
            ] = {}  # email -> the earliest platform change: where a retry reads from
            for contact in page.items:
                email = (contact.email or "").strip().lower()
                value = rank_of(contact.opt_in_type)
                if not email or value is None:
                    continue
                values[email] = max(value, values.get(email, 0))
                if contact.updated is not None:
                    seen = changed.get(email)
                    changed[email] = contact.updated if seen is None else min(seen, contact.updated)
            decision = writer.decide(values)
            plan = cursor.in_flight
            if plan is None or plan.marker != cursor.marker:
                # The page's intent is saved before its writes: were the worker to die after
                # them, the replay of this page finds them done and counts them as its own.
                plan = PagePlan(marker=cursor.marker, raises=decision.planned())
                if decision.pending:  # nothing to write: a replay decides the same
                    cursor.in_flight = plan
                    run.save_only()
                    yield
            outcome = writer.write(decision)
            for email in outcome.retry:
                cursor.window.hold_back(changed.get(email))
            outcome = as_planned(outcome, decision, plan.raises)
            tally(run, len(page.items), outcome, cursor.updated, cursor.failures)
            cursor.in_flight = None
            if page.resume is None:
                break
            cursor.marker = page.resume
            yield
        return _result(run)


def _result(run: Run[OptInCursor]) -> SyncResult:
    counts = run.counts
    cursor = run.cursor
    table_details(run, TABLES, cursor.updated, cursor.failures, what="opt-in types raised",
                  failed_item=FAILED_ITEM)  # fmt: skip
    if not counts.updated and not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = f"{counts.read} platform contacts read: {counts.updated} opt-in types raised"
    if not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, text)
    status = AuditStatus.COMPLETED_WITH_ERRORS if counts.updated else AuditStatus.FAILED
    return SyncResult(status, f"{text}; {counts.failed} records failed")
