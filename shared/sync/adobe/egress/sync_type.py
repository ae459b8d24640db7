"""EventEgress ("Campaign events to Dynamics timeline"): Campaign's email events, read from the
account's Adobe I/O Events journal, become activities on the contact's timeline (send, open,
URL click, hard bounce; each switchable), with a follow-up task on a click and a "reconcile the
invalid email address" task on a hard bounce (each switchable).

The journal is read from where the last run stopped (its `next` link, saved per account when a
run ends), one batch of at most `page_size` events at a time, and at most `max_events` events a
run (the former connector's 10,000); the rest waits for the next run. Each batch: its link is
checkpointed as in flight, its writes are made (create-only, ids from the event ids), then the
next link is checkpointed, so a worker that dies mid-batch redoes that batch and counts it as
an unkilled run would. An event whose profile names no contact in Dynamics is skipped and named
in the audit by its event id (the first `MAX_DETAILS` of a run).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import ClassVar

from shared.accounts import EmailAccount, Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.adobe.errors import ForeignHref
from shared.clients.adobe.journal import EventJournalClient, JournalEvent, JournalExpired
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.runtime import Runtime
from shared.storage.adobe_config_model import EgressSettings
from shared.storage.adobe_config_repo import AdobeConfigRepository
from shared.sync.adobe.egress.events import EmailEvent, Kind, UnreadableEvent, read_event
from shared.sync.adobe.egress.writer import BatchOutcome, Problem, write_events
from shared.sync_types import SyncType

PAGE_SIZE = 500  # events per journal batch (`limit`): one `$batch` of writes
MAX_EVENTS = 10_000  # a run's most (the former connector's egress limit)
MAX_DETAILS = 100  # detail rows per run naming a skipped or failed event
POSITION_KEY = f"{SyncType.EVENT_EGRESS.value}-JournalPosition"
SET_JOURNAL = "adobe egress set {0} --journal-url <endpoint> --ims-org-id <id>@AdobeOrg"
LABELS = {Kind.SEND: "sends", Kind.OPEN: "opens", Kind.CLICK: "clicks", Kind.BOUNCE: "bounces"}


class JournalConfigured:
    """A run needs the account's journaling endpoint and IMS organization id."""

    def refusal(self, services: Runtime, account: EmailAccount) -> str | None:
        settings = egress_settings(services, account.account_id)
        if settings.journal_url and settings.ims_org_id:
            return None
        return (
            f"Email account '{account.name}' has no Adobe I/O Events journal to read Campaign's "
            f"email events from: set it with `{SET_JOURNAL.format(account.account_id)}`."
        )


def egress_settings(services: Runtime, account_id: str) -> EgressSettings:
    stored = services.repository(AdobeConfigRepository).load(account_id)
    return stored.config.egress if stored is not None else EgressSettings()


class EgressCursor(Cursor):
    version: ClassVar[int] = 1

    settings: EgressSettings  # as the run started: every slice applies the same switches
    href: str  # the journal link to read next
    in_flight: str | None = None  # a batch whose writes are under way (its link)
    read: int = 0  # events read from the journal this run
    written: dict[str, int] = {}  # kind -> activities created
    tasks: int = 0
    already: int = 0  # activities there before this run
    skipped: int = 0  # no contact in Dynamics
    failed: int = 0
    switched_off: int = 0  # events of a kind the account does not show
    soft_bounces: int = 0
    other: int = 0  # events of other types on the registration
    details: int = 0  # detail rows written
    expired: str = ""  # the saved position had expired: why
    capped: bool = False  # stopped at max_events with events left


class EventEgress(SyncTypeTemplate[EgressCursor]):
    declaration = SyncDeclaration(
        SyncType.EVENT_EGRESS,
        frozenset({Platform.ADOBE_CAMPAIGN}),
        Direction.TO_DYNAMICS,
        prerequisites=(JournalConfigured(),),
        summary="Campaign email events -> activities on the contact's timeline, follow-up tasks",
    )
    cursor_model = EgressCursor

    def __init__(self, *, page_size: int = PAGE_SIZE, max_events: int = MAX_EVENTS) -> None:
        if not 1 <= page_size <= max_events:
            raise ValueError("1 <= page_size <= max_events")
        self.page_size = page_size
        self.max_events = max_events

    def _journal(self, run: Run[EgressCursor], settings: EgressSettings) -> EventJournalClient:
        return run.platform(AdobeCampaignClient).journal(settings.journal_url, settings.ims_org_id)

    def start(self, run: Run[EgressCursor]) -> EgressCursor:
        settings = egress_settings(run.services, run.account.account_id)
        journal = self._journal(run, settings)
        saved = run.services.state.get_value(run.account.account_id, POSITION_KEY)
        href = journal.start_href(limit=self.page_size)
        if isinstance(saved, str) and saved:
            # A position on another registration (the endpoint changed) starts afresh.
            with contextlib.suppress(ForeignHref):
                href = journal.check_href(saved)
        return EgressCursor(settings=settings, href=href)

    def run(self, run: Run[EgressCursor]) -> Steps:
        cursor = run.cursor
        journal = self._journal(run, cursor.settings)
        dataverse = run.services.dataverse()
        while True:
            if cursor.read + self.page_size > self.max_events:
                cursor.capped = True
                break
            try:
                batch = journal.read(cursor.href)
            except JournalExpired as error:
                cursor.expired = str(error)
                cursor.href = journal.start_href(limit=self.page_size)
                cursor.in_flight = None
                yield
                continue
            if batch.at_end:
                cursor.href = batch.next_href
                break
            replay = cursor.in_flight == cursor.href
            if not replay:  # the batch's intent, saved before its writes (see the docstring)
                cursor.in_flight = cursor.href
                run.save_only()
                yield
            events = self._wanted(cursor, batch.events, run)
            outcome = write_events(dataverse, run.account.account_id, events, cursor.settings,
                                   ours=replay)  # fmt: skip
            self._count(run, len(batch.events), outcome)
            cursor.href, cursor.in_flight = batch.next_href, None
            yield
        run.services.state.set_value(
            run.account.account_id, POSITION_KEY, cursor.href, run.services.clock()
        )
        return _result(cursor, self.max_events)

    def _wanted(
        self, cursor: EgressCursor, entries: list[JournalEvent], run: Run[EgressCursor]
    ) -> list[EmailEvent]:
        """The batch's email events of the kinds the account shows (hard bounces only)."""
        on = {
            Kind.SEND: cursor.settings.send,
            Kind.OPEN: cursor.settings.open,
            Kind.CLICK: cursor.settings.click,
            Kind.BOUNCE: cursor.settings.bounce,
        }
        wanted: list[EmailEvent] = []
        for entry in entries:
            try:
                event = read_event(entry.event)
            except UnreadableEvent as error:
                cursor.failed += 1
                run.counts += Counts(failed=1)
                self._detail(run, f"event at {entry.position}"[:200], "Failed",
                             f"Unreadable event: {error}")  # fmt: skip
                continue
            if event is None:
                cursor.other += 1
            elif not on[event.kind]:
                cursor.switched_off += 1
            elif event.kind is Kind.BOUNCE and not event.hard_bounce:
                cursor.soft_bounces += 1
            else:
                wanted.append(event)
        return wanted

    def _count(self, run: Run[EgressCursor], read: int, outcome: BatchOutcome) -> None:
        cursor = run.cursor
        cursor.read += read
        for kind, count in outcome.written.items():
            cursor.written[kind] = cursor.written.get(kind, 0) + count
        created = sum(outcome.written.values()) + outcome.tasks
        cursor.tasks += outcome.tasks
        cursor.already += outcome.already
        cursor.skipped += len(outcome.skipped)
        failed_events = {p.event.event_id for p in outcome.failed}
        cursor.failed += len(failed_events)
        run.counts += Counts(read=read, created=created, failed=len(failed_events))
        for problem in outcome.skipped:
            self._event_detail(run, problem, "Skipped")
        for problem in outcome.failed:
            self._event_detail(run, problem, "Failed")

    def _event_detail(self, run: Run[EgressCursor], problem: Problem, what: str) -> None:
        event = problem.event
        self._detail(run, event.event_id, what,
                     f"{what}: email {event.kind.value} event of delivery {event.delivery_id} "
                     f"({problem.why})")  # fmt: skip

    def _detail(self, run: Run[EgressCursor], key: str, what: str, message: str) -> None:
        if run.cursor.details >= MAX_DETAILS:
            return
        run.cursor.details += 1
        failed = what == "Failed"
        run.detail(AuditDetail(
            item=f"Campaign event {key}"[:200], key=key,
            status=AuditStatus.FAILED if failed else AuditStatus.COMPLETED,
            message=message[:1000], counts=Counts(read=1, failed=1 if failed else 0),
        ))  # fmt: skip


def _result(cursor: EgressCursor, max_events: int) -> SyncResult:
    if not cursor.read and not cursor.expired:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    counts = Counter(cursor.written)
    activities = sum(counts.values())
    kinds = ", ".join(f"{counts.get(k.value, 0)} {LABELS[k]}" for k in Kind)
    parts = [f"{cursor.read} Campaign events read: {activities} activities created ({kinds}), "
             f"{cursor.tasks} follow-up tasks"]  # fmt: skip
    if cursor.already:
        parts.append(f"{cursor.already} activities there already")
    if cursor.skipped:
        parts.append(f"{cursor.skipped} events skipped (no contact in Dynamics)")
    ignored = [
        f"{n} {what}"
        for n, what in (
            (cursor.switched_off, "of kinds switched off"),
            (cursor.soft_bounces, "soft bounces"),
            (cursor.other, "of other types"),
        )
        if n
    ]
    if ignored:
        parts.append("not shown: " + ", ".join(ignored))
    if cursor.failed:
        parts.append(f"{cursor.failed} events failed")
    if cursor.expired:
        parts.append(
            "the saved journal position had expired (events are kept 7 days): events after it "
            "were lost, reading went on from the oldest event kept"
        )
    if cursor.capped:
        parts.append(f"at most {max_events:,} events a run: later events wait for the next run")
    text = "; ".join(parts)
    if cursor.failed and not (activities or cursor.tasks):
        return SyncResult(AuditStatus.FAILED, text[:1000])
    status = AuditStatus.COMPLETED_WITH_ERRORS if cursor.failed or cursor.expired else (
        AuditStatus.COMPLETED)  # fmt: skip
    return SyncResult(status, text[:1000])
