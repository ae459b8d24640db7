"""CampaignStatistics ("Email campaigns"): platform campaigns -> email campaign records, and at
the account's Detailed level their behaviour since the last run -> send summaries, clicks,
social bookmarks, ROI details and page views.

Two phases. New campaigns: the account's campaigns (`GET /v2/campaigns`, paged) that have no
record yet (the records of the account are read once a slice) are upserted, each linked to its
email account; a page's new campaign ids are checkpointed before its writes, so the replay of a
page whose worker died after writing counts and reports them as an unkilled run does.
Activity: the campaigns with activity since the account's watermark
(`with-activity-since`, paged; the page waiting in the cursor) each get their totals from
their summary, and at the Detailed level their datasets read since the campaign's own
watermark (`CampaignStatistics-Campaign-<id>`, stored when the campaign is done) and written
as upserts with deterministic ids, a checkpoint after every page (dataset and position in the
cursor). A campaign record that cannot be written aborts that campaign ("The CrmEmailCampaign
was null. Sync aborted."); a dataset that cannot be read or written is named in the
campaign's message and the others go on. Either keeps the account's watermark and the
campaign's own, so the next run reads that activity again.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from shared.accounts import CampaignSyncLevel, Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dotdigital.campaigns import Campaign
from shared.clients.dotdigital.client import DotdigitalClient
from shared.dynamics_schema.engagement import EMAIL_CAMPAIGN
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
from shared.errors import ApiError, RetriableError
from shared.sync.campaigns import rows
from shared.sync.campaigns.datasets import DATASETS, failed_message
from shared.sync.campaigns.writer import BehaviourWriter
from shared.sync_types import SyncType

LIST_PAGE = 1000  # campaigns per /v2/campaigns page
ACTIVITY_PAGE = 25  # campaigns with activity per page: the page waits in the cursor
CLOCK_SKEW = timedelta(minutes=1)  # read a margin before a watermark: the clocks differ
FIRST_READ_FROM = datetime(2000, 1, 1, tzinfo=UTC)  # never read: the whole history
WATERMARK_KEY = f"{SyncType.CAMPAIGN_STATISTICS.value}-Watermark"
MAX_ERRORS = 3  # failure messages kept per campaign

Sub = Generator[None, None, None]


def campaign_watermark_key(campaign_id: int) -> str:
    return f"{SyncType.CAMPAIGN_STATISTICS.value}-Campaign-{campaign_id}"


class NewPage(BaseModel):
    """A page of the campaign list whose writes are under way: its new campaigns."""

    skip: int
    ids: list[int]


class InProgress(BaseModel):
    """The campaign whose datasets are being read (Detailed level)."""

    campaign: Campaign
    since: datetime | None  # its own watermark when the run reached it
    dataset: int = 0  # index in DATASETS
    skip: int = 0  # position in that dataset
    read: int = 0
    written: dict[str, int] = {}  # dataset -> rows written
    failed_rows: int = 0
    failed: list[str] = []  # datasets that failed, in DATASETS order
    errors: list[str] = []


class CampaignsCursor(Cursor):
    version: ClassVar[int] = 1

    window: WatermarkWindow
    detailed: bool
    list_skip: int | None = 0  # None: the new-campaign phase is over
    list_plan: NewPage | None = None
    activity_skip: int | None = 0  # next with-activity page; None: no more
    pending: list[Campaign] = []  # the rest of the with-activity page
    current: InProgress | None = None
    created: int = 0  # campaign records created
    updated: int = 0  # campaign records refreshed from their summary
    with_errors: int = 0  # campaigns aborted or with a failed dataset
    totals: dict[str, int] = {}  # dataset -> rows written over the run


class CampaignStatistics(SyncTypeTemplate[CampaignsCursor]):
    declaration = SyncDeclaration(
        SyncType.CAMPAIGN_STATISTICS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="campaigns -> email campaign records; at Detailed level their behaviour too",
    )
    cursor_model = CampaignsCursor

    def __init__(self, *, page_size: int | None = None, list_page: int = LIST_PAGE) -> None:
        self.page_size = page_size  # caps every dataset's page (tests: many checkpoints)
        self.list_page = list_page

    def start(self, run: Run[CampaignsCursor]) -> CampaignsCursor:
        detailed = run.account.campaign_sync_level is CampaignSyncLevel.DETAILED
        return CampaignsCursor(window=run.watermark(WATERMARK_KEY), detailed=detailed)

    def watermarks(self, cursor: CampaignsCursor) -> list[WatermarkWindow]:
        return [cursor.window]

    def run(self, run: Run[CampaignsCursor]) -> Steps:
        platform = run.platform(DotdigitalClient)
        dataverse = run.services.dataverse()
        if run.cursor.list_skip is not None:
            yield from self._new_campaigns(run, platform, dataverse)
        yield from self._activity(run, platform, dataverse)
        return _result(run.cursor)

    # New campaigns -----------------------------------------------------------------------

    def _new_campaigns(
        self, run: Run[CampaignsCursor], platform: DotdigitalClient, dataverse: DataverseClient
    ) -> Sub:
        cursor = run.cursor
        account_id = run.account.account_id
        known = _known_campaigns(dataverse, account_id)
        skip = cursor.list_skip or 0
        for page in platform.iter_campaigns(select=self.list_page, skip=skip).pages():
            plan = cursor.list_plan
            if plan is None or plan.skip != cursor.list_skip:
                plan = NewPage(skip=skip, ids=[c.id for c in page.items if c.id not in known])
                if plan.ids:  # the page's intent, saved before its writes (see the docstring)
                    cursor.list_plan = plan
                    run.save_only()
                    yield
            new = [c for c in page.items if c.id in set(plan.ids)]
            now = run.services.clock()
            requests = [
                BatchRequest.upsert(EMAIL_CAMPAIGN.entity_set,
                                    rows.campaign_row_id(account_id, c.id),
                                    rows.campaign_body(account_id, c, now))
                for c in new
            ]  # fmt: skip
            results = dataverse.execute_batch(requests).results if requests else []
            for campaign, result in zip(new, results, strict=True):
                if result.ok:
                    cursor.created += 1
                    run.counts += Counts(read=1, created=1)
                    run.detail(_detail(campaign, status=AuditStatus.COMPLETED,
                                           message="Email campaign created",
                                           counts=Counts(created=1)))  # fmt: skip
                else:
                    _aborted(run, campaign, result.why)
            cursor.list_plan = None
            if page.resume is None:
                break
            skip = cursor.list_skip = page.resume
            yield
        cursor.list_skip = None
        yield

    # Activity ----------------------------------------------------------------------------

    def _activity(
        self, run: Run[CampaignsCursor], platform: DotdigitalClient, dataverse: DataverseClient
    ) -> Sub:
        cursor = run.cursor
        writer = BehaviourWriter(dataverse, run.services.mappings.for_account(
            run.account.account_id))  # fmt: skip
        since = cursor.window.read_from(CLOCK_SKEW) or FIRST_READ_FROM
        while True:
            if cursor.current is not None:
                yield from self._datasets(run, platform, writer, cursor.current)
                continue
            if not cursor.pending:
                if cursor.activity_skip is None:
                    return
                listed = platform.iter_campaigns_with_activity_since(
                    since, select=ACTIVITY_PAGE, skip=cursor.activity_skip
                )
                page = next(listed.pages())
                cursor.pending = list(page.items)
                cursor.activity_skip = page.resume
                yield
                continue
            campaign = cursor.pending[0]
            refreshed = self._refresh(run, platform, dataverse, campaign)
            cursor.pending = cursor.pending[1:]
            if refreshed and cursor.detailed:
                stored = run.services.state.get_value(
                    run.account.account_id, campaign_watermark_key(campaign.id)
                )
                own = datetime.fromisoformat(stored) if isinstance(stored, str) and stored else None
                cursor.current = InProgress(campaign=campaign, since=own)
            elif refreshed:
                run.detail(_detail(campaign, status=AuditStatus.COMPLETED,
                                       message="Email campaign totals updated",
                                       counts=Counts(read=1, updated=1)))  # fmt: skip
            yield

    def _refresh(
        self,
        run: Run[CampaignsCursor],
        platform: DotdigitalClient,
        dataverse: DataverseClient,
        campaign: Campaign,
    ) -> bool:
        """The campaign's record with its totals; False (and the campaign aborted) if it could
        not be written."""
        account_id = run.account.account_id
        try:
            summary = platform.campaign_summary(campaign.id)
            body = rows.campaign_body(account_id, campaign, run.services.clock())
            body.update(rows.totals_body(summary))
            request = BatchRequest.upsert(
                EMAIL_CAMPAIGN.entity_set, rows.campaign_row_id(account_id, campaign.id), body
            )
            [result] = dataverse.execute_batch([request]).results  # fmt: skip
            problem = None if result.ok else result.why
        except (ApiError, RetriableError) as error:
            problem = str(error)
        if problem is not None:
            _aborted(run, campaign, problem)
            return False
        run.cursor.updated += 1
        run.counts += Counts(read=1, updated=1)
        return True

    def _datasets(
        self,
        run: Run[CampaignsCursor],
        platform: DotdigitalClient,
        writer: BehaviourWriter,
        current: InProgress,
    ) -> Sub:
        cursor = run.cursor
        account_id = run.account.account_id
        campaign = current.campaign
        row_of_campaign = rows.campaign_row_id(account_id, campaign.id)
        since = (current.since - CLOCK_SKEW) if current.since is not None else FIRST_READ_FROM
        while current.dataset < len(DATASETS):
            dataset = DATASETS[current.dataset]
            try:
                size = min(dataset.page_size, self.page_size or dataset.page_size)
                paged = dataset.read(platform, campaign.id, since, size, current.skip)
                for page in paged.pages():
                    built = [
                        dataset.build(account_id, campaign.id, row_of_campaign, campaign.name, i)
                        for i in page.items
                    ]
                    outcome = writer.write(dataset.entity_set, built)
                    current.read += len(page.items)
                    current.written[dataset.name] = (
                        current.written.get(dataset.name, 0) + outcome.written
                    )
                    current.failed_rows += outcome.failed
                    run.counts += Counts(read=len(page.items), updated=outcome.written,
                                         failed=outcome.failed)  # fmt: skip
                    if outcome.failed:
                        _dataset_failed(current, dataset.name, outcome.errors)
                    if page.resume is None:
                        break
                    current.skip = page.resume
                    yield
            except (ApiError, RetriableError) as error:
                _dataset_failed(current, dataset.name, [str(error)])
            current.dataset += 1
            current.skip = 0
            yield
        _finish_campaign(run, current)
        cursor.current = None
        yield


def _known_campaigns(dataverse: DataverseClient, account_id: str) -> set[int]:
    """Platform ids of the account's campaign records (one paged read)."""
    escaped = account_id.replace("'", "''")
    records = dataverse.iter_records(
        EMAIL_CAMPAIGN.entity_set,
        ["dms_platformid"],
        filter=f"dms_emailaccountid eq '{escaped}'",
    )
    return {int(r["dms_platformid"]) for r in records if r.get("dms_platformid") is not None}


def _aborted(run: Run[CampaignsCursor], campaign: Campaign, why: str) -> None:
    run.cursor.with_errors += 1
    run.cursor.window.keep_old()  # listed again next run
    run.counts += Counts(read=1, failed=1)
    run.detail(_detail(campaign, status=AuditStatus.FAILED,
                           message=f"{Messages.CAMPAIGN_NULL} ({why})"[:1000],
                           counts=Counts(read=1, failed=1)))  # fmt: skip


def _dataset_failed(current: InProgress, name: str, errors: list[str]) -> None:
    if name not in current.failed:
        current.failed.append(name)
    for error in errors:
        if len(current.errors) < MAX_ERRORS:
            current.errors.append(f"{name}: {error}"[:300])


def _finish_campaign(run: Run[CampaignsCursor], current: InProgress) -> None:
    """The campaign's detail row; its own watermark moves only when every dataset synced."""
    cursor = run.cursor
    for name, count in current.written.items():
        cursor.totals[name] = cursor.totals.get(name, 0) + count
    counts_text = ", ".join(f"{current.written.get(d.name, 0)} {d.label}" for d in DATASETS)
    written = sum(current.written.values())
    counts = Counts(read=current.read, updated=written, failed=current.failed_rows)
    if not current.failed:
        run.services.state.set_value(
            run.account.account_id,
            campaign_watermark_key(current.campaign.id),
            cursor.window.started.isoformat(),
            run.services.clock(),
        )
        run.detail(_detail(current.campaign, status=AuditStatus.COMPLETED,
                               message=counts_text, counts=counts))  # fmt: skip
        return
    cursor.with_errors += 1
    cursor.window.keep_old()  # listed again next run; its own watermark stays too
    message = failed_message(current.failed)
    message += f" {counts_text}; " + "; ".join(current.errors)
    status = AuditStatus.COMPLETED_WITH_ERRORS if written else AuditStatus.FAILED
    run.detail(_detail(current.campaign, status=status, message=message[:1000],
                           counts=counts))  # fmt: skip


def _result(cursor: CampaignsCursor) -> SyncResult:
    if not (cursor.created or cursor.updated or cursor.with_errors):
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = f"{cursor.created} email campaigns created, {cursor.updated} updated"
    if cursor.detailed:
        text += ": " + ", ".join(f"{cursor.totals.get(d.name, 0)} {d.label}" for d in DATASETS)
    if not cursor.with_errors:
        return SyncResult(AuditStatus.COMPLETED, text)
    text += f"; {cursor.with_errors} campaigns with errors"
    wrote = cursor.created or cursor.updated or any(cursor.totals.values())
    return SyncResult(AuditStatus.COMPLETED_WITH_ERRORS if wrote else AuditStatus.FAILED, text)


def _detail(
    campaign: Campaign, *, status: AuditStatus, message: str, counts: Counts
) -> AuditDetail:
    """A campaign's audit detail row: named as the campaign, one per campaign id (two campaigns
    may share a name)."""
    return AuditDetail(item=campaign.name, key=f"campaign {campaign.id}", status=status,
                       message=message, counts=counts)  # fmt: skip
