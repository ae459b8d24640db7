"""ContactScoring ("Contact scoring"): platform contact scores -> contacts and leads.

Reads the scores modified since the watermark (`GET /v2/contacts/score/modified-since/{date}`,
ordered by modified date) and writes score, label, engagement, suitability and the score's date
to every contact and lead with the score's email (`shared.sync.score_writer`: batched lookups,
ETag-conditional `$batch` writes, a later `dateModified` wins, unchanged records not written).

Paging follows the date, not a growing `skip`: a score that changes during the run moves to the
end of the date order, which would shift every later row one place back and make a `skip` read
miss one. Each page is read from the last date done (the cursor keeps the contacts already done
at exactly that date, and a `skip` only while a whole page shares one date), so a moved row is
met again at its new place and nothing is passed over.

When the platform says scoring is not activated for the account, the run is Failed with "Feature
is not activated in Dotdigital" and the watermark stays. A page's plan is checkpointed before
its writes, so a replay after a kill counts them as an unkilled run does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditStatus, Messages
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.scoring import FEATURE_NOT_ACTIVATED, ContactScore
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
from shared.sync.record_writer import as_planned, table_details, tally
from shared.sync.score_writer import TABLES, ScoreWriter
from shared.sync_types import SyncType

PAGE_SIZE = 1000  # scores per page: one $batch of lookups and one of writes each
WATERMARK_KEY = f"{SyncType.CONTACT_SCORING.value}-Watermark"
CLOCK_SKEW = timedelta(minutes=1)  # read a margin before the watermark: the clocks differ
FIRST_READ_FROM = datetime(2000, 1, 1, tzinfo=UTC)  # a first run reads every score
FAILED_ITEM = "Records that failed"


class Position(BaseModel):
    """Where the next page starts: the last date done, the contacts done at exactly that date,
    and a skip within that date while whole pages share it."""

    since: datetime | None = None  # None: the window's start
    done_at: list[int] = []
    skip: int = 0


class PagePlan(BaseModel):
    """A page whose writes are under way: where it starts (its position's date, skip and how
    many contacts were done at that date) and what it set out to write."""

    at: tuple[datetime | None, int, int]
    writes: dict[str, int]  # table -> records


def _mark(at: Position) -> tuple[datetime | None, int, int]:
    return at.since, at.skip, len(at.done_at)


class ScoringCursor(Cursor):
    version: ClassVar[int] = 1

    window: WatermarkWindow
    position: Position = Position()
    updated: dict[str, int] = {}  # table -> records written
    failures: list[str] = []  # "<key>: <why>", the first record_writer.MAX_FAILURES
    in_flight: PagePlan | None = None  # saved before a page's writes, cleared after them


class ContactScoring(SyncTypeTemplate[ScoringCursor]):
    declaration = SyncDeclaration(
        SyncType.CONTACT_SCORING,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="contact scores -> score columns of contacts and leads",
    )
    cursor_model = ScoringCursor

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[ScoringCursor]) -> ScoringCursor:
        return ScoringCursor(window=run.watermark(WATERMARK_KEY))

    def watermarks(self, cursor: ScoringCursor) -> list[WatermarkWindow]:
        return [cursor.window]

    def run(self, run: Run[ScoringCursor]) -> Steps:
        cursor = run.cursor
        platform = run.platform(DotdigitalClient)
        writer = ScoreWriter(run.services.dataverse())
        start = cursor.window.read_from(CLOCK_SKEW) or FIRST_READ_FROM
        while True:
            at = cursor.position
            try:
                rows = platform.contact_scores_modified_since(
                    at.since or start, select=self.page_size, skip=at.skip
                )
            except ApiError as error:
                if error.code != FEATURE_NOT_ACTIVATED:
                    raise
                cursor.window.keep_old()  # nothing was read: the next run starts there again
                return SyncResult(AuditStatus.FAILED, Messages.FEATURE_NOT_ACTIVATED)
            fresh = _fresh(rows, at)
            decision = writer.decide(_latest_by_email(fresh))
            plan = cursor.in_flight
            if plan is None or plan.at != _mark(at):
                # The page's intent is saved before its writes: were the worker to die after
                # them, the replay of this page finds them done and counts them as its own.
                plan = PagePlan(at=_mark(at), writes=decision.planned())
                if decision.pending:  # nothing to write: a replay decides the same
                    cursor.in_flight = plan
                    run.save_only()
                    yield
            outcome = writer.write(decision)
            for email in outcome.retry:
                cursor.window.hold_back(_earliest(fresh, email))
            outcome = as_planned(outcome, decision, plan.writes)
            tally(run, len(fresh), outcome, cursor.updated, cursor.failures)
            cursor.in_flight = None
            if len(rows) < self.page_size:
                break
            cursor.position = _next_position(at, rows)
            yield
        return _result(run)


def _fresh(rows: list[ContactScore], at: Position) -> list[ContactScore]:
    """The page's rows not done yet: after the last date done, or at it but not done there."""
    if at.since is None:
        return rows
    done = set(at.done_at)
    return [
        row
        for row in rows
        if row.date_modified is None
        or row.date_modified > at.since
        or (row.date_modified == at.since and row.contact_id not in done)
    ]


def _next_position(at: Position, rows: list[ContactScore]) -> Position:
    """Where the page after `rows` starts (see the module's docstring)."""
    last = rows[-1].date_modified
    if last is None or (at.since is not None and last <= at.since):
        # The whole page is at the date already reached: step over it within that date. The
        # skip now counts every row of that date read so far (those done before included), so
        # the list of contacts done there need not grow (the cursor stays small).
        return Position(since=at.since, done_at=at.done_at, skip=at.skip + len(rows))
    done = [row.contact_id for row in rows if row.date_modified == last]
    return Position(since=last, done_at=done, skip=0)


def _latest_by_email(rows: list[ContactScore]) -> dict[str, ContactScore]:
    latest: dict[str, ContactScore] = {}
    for row in rows:
        email = row.email.strip().lower()
        if not email or row.date_modified is None:
            continue
        seen = latest.get(email)
        if seen is None or (seen.date_modified or row.date_modified) <= row.date_modified:
            latest[email] = row
    return latest


def _earliest(rows: list[ContactScore], email: str) -> datetime | None:
    dates = [r.date_modified for r in rows if r.email.strip().lower() == email and r.date_modified]
    return min(dates, default=None)


def _result(run: Run[ScoringCursor]) -> SyncResult:
    cursor = run.cursor
    counts = run.counts
    table_details(run, TABLES, cursor.updated, cursor.failures, what="scores updated",
                  failed_item=FAILED_ITEM)  # fmt: skip
    if not counts.updated and not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = f"{counts.read} platform scores read: {counts.updated} contacts and leads scored"
    if not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, text)
    status = AuditStatus.COMPLETED_WITH_ERRORS if counts.updated else AuditStatus.FAILED
    return SyncResult(status, f"{text}; {counts.failed} records failed")
