"""OptOut: Campaign's "no longer contact by" attributes and CCPA <-> the contact's Boolean
fields, per the account's opt-out mode and pairs (`adobe opt-out set`).

Two phases, each paged and checkpointed:
- Dynamics changes (modes DynamicsToCampaign and Bidirectional): contacts changed since the
  last run by Dataverse change tracking (the type's own delta link, SyncState `OptOut-DeltaLink`,
  stored when the run completes), each one's profile by the custom key
  (`/profileAndServicesExt/profile/<contactid>`), decided pair by pair.
- Campaign changes (CampaignToDynamics and Bidirectional): profiles whose opt-out attributes
  changed, or that were created, since the watermark, through the custom filter
  `byOptOutChanged?since=` an administrator defines on the profile resource (README), each
  one's contact by its externalId (50 to a request). DynamicsToCampaign reads them too, for
  new profiles whose opt-outs Campaign never set (ingress's defaults, nobody's choice); a
  person's change made in Campaign it leaves alone.
A full change read (the first run of DynamicsToCampaign or Bidirectional, or a delta link
Dataverse refused) decides every contact that has a profile, so that run skips the Campaign
phase, which would see the same records again.

Each page is decided first, its intent (the writes it sets out to make, per side) saved, then
written: a page replayed after a kill counts what it set out to do, as an unkilled run does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.adobe.errors import RecordNotFound
from shared.clients.dataverse.changes import ChangePosition
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
from shared.errors import ConfigurationError
from shared.storage.adobe_config_model import CampaignOptOut, OptOutMode, OptOutPair
from shared.storage.adobe_config_repo import AdobeConfigRepository
from shared.sync.adobe.opt_out import campaign_modified
from shared.sync.adobe.opt_out_records import (
    CONTACTS,
    RECORD_ERRORS,
    contact_columns,
    contact_id,
    never_set_in_campaign,
    plan,
    read_contacts,
    write,
)
from shared.sync_types import SyncType

OPT_OUT_FILTER = "byOptOutChanged"  # the custom filter on the profile resource (README)
OPT_OUT_FILTER_PARAMETER = "since"
DELTA_LINK_KEY = f"{SyncType.OPT_OUT.value}-DeltaLink"
WATERMARK_KEY = f"{SyncType.OPT_OUT.value}-Watermark"
CLOCK_SKEW = timedelta(minutes=5)  # Campaign's clock against ours: read a margin before
PAGE_SIZE = 100  # records per page: each costs one read of the other side
MAX_FAILURES = 20
TO_CAMPAIGN = "Dynamics -> Campaign"
TO_DYNAMICS = "Campaign -> Dynamics"
FAILED_ITEM = "Records that failed"
Work = Generator[None, None, None]  # a phase's steps: yields at checkpoints


class Phase(StrEnum):
    DYNAMICS = "dynamics"
    CAMPAIGN = "campaign"
    DONE = "done"


class PagePlan(BaseModel):
    """A page whose writes are under way: which page, and what it set out to write."""

    page: str
    to_campaign: int
    to_dynamics: int


class OptOutCursor(Cursor):
    version: ClassVar[int] = 1

    mode: OptOutMode
    pairs: list[OptOutPair]
    phase: Phase
    window: WatermarkWindow
    delta_link: str | None = None  # the stored one this run reads from
    dynamics_resume: ChangePosition | None = None
    new_delta_link: str | None = None  # the last change page's, stored when the run completes
    keep_delta_link: bool = False  # a change could not be written for a cause that can pass
    full_read: bool = False  # the change read was a full one: it saw every contact
    full_resync_reason: str | None = None
    campaign_next: str | None = None  # the next profile page's href
    contacts_read: int = 0
    profiles_read: int = 0
    to_campaign: int = 0
    to_dynamics: int = 0
    unmatched: int = 0  # contacts without a profile, profiles without a contact
    failures: list[str] = []
    in_flight: PagePlan | None = None


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _wire_time(moment: datetime) -> str:
    """ACS's date form (`2026-11-28 09:15:02.123Z`), for the filter's parameter."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _page_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class OptOut(SyncTypeTemplate[OptOutCursor]):
    declaration = SyncDeclaration(
        SyncType.OPT_OUT,
        frozenset({Platform.ADOBE_CAMPAIGN}),
        Direction.BOTH,
        summary="Campaign opt-out attributes (blackList*, ccpaOptOut) <-> contact Booleans",
    )
    cursor_model = OptOutCursor

    def __init__(self, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size

    def start(self, run: Run[OptOutCursor]) -> OptOutCursor:
        stored = run.services.repository(AdobeConfigRepository).load(run.account.account_id)
        mode = stored.config.opt_out.mode if stored else OptOutMode.DISABLED
        pairs = list(stored.config.opt_out.pairs) if stored else []
        window = run.watermark(WATERMARK_KEY)
        delta_link = run.services.state.get_value(run.account.account_id, DELTA_LINK_KEY)
        delta_link = delta_link if isinstance(delta_link, str) and delta_link else None
        reads_dynamics = mode in (OptOutMode.DYNAMICS_TO_CAMPAIGN, OptOutMode.BIDIRECTIONAL)
        if mode is OptOutMode.DISABLED or not pairs:
            phase = Phase.DONE
        else:
            phase = Phase.DYNAMICS if reads_dynamics else Phase.CAMPAIGN
        return OptOutCursor(
            mode=mode, pairs=pairs, phase=phase, window=window, delta_link=delta_link
        )

    def watermarks(self, cursor: OptOutCursor) -> list[WatermarkWindow]:
        return [cursor.window] if cursor.mode is not OptOutMode.DISABLED and cursor.pairs else []

    def run(self, run: Run[OptOutCursor]) -> Steps:
        cursor = run.cursor
        if cursor.mode is OptOutMode.DISABLED or not cursor.pairs:
            return _disabled(cursor)
        adobe = run.platform(AdobeCampaignClient)
        if cursor.phase is Phase.DYNAMICS:
            yield from self._dynamics_phase(run, adobe)
            # A full read decided every contact that has a profile: nothing left for Campaign's.
            cursor.phase = Phase.DONE if cursor.full_read else Phase.CAMPAIGN
            yield
        if cursor.phase is Phase.CAMPAIGN:
            yield from self._campaign_phase(run, adobe)
            cursor.phase = Phase.DONE
        if cursor.new_delta_link and not cursor.keep_delta_link:
            run.services.state.set_value(
                run.account.account_id, DELTA_LINK_KEY, cursor.new_delta_link, run.services.clock()
            )
        return _result(run)

    # Dynamics changes -> their profiles ---------------------------------------------------

    def _dynamics_phase(self, run: Run[OptOutCursor], adobe: AdobeCampaignClient) -> Work:
        cursor = run.cursor
        dataverse = run.services.dataverse()
        feed = dataverse.read_changes(
            CONTACTS,
            contact_columns(cursor.pairs),
            cursor.delta_link,
            page_size=self.page_size,
            resume=cursor.dynamics_resume,
        )
        cursor.full_read = feed.is_full_read
        cursor.full_resync_reason = cursor.full_resync_reason or feed.full_resync_reason
        for page in feed:
            pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for contact in page.upserts:
                try:
                    profile = adobe.get_by_key("profile", str(contact["contactid"]))
                except RECORD_ERRORS as error:
                    _fail(cursor, str(contact["contactid"]), str(error), retry=True)
                    run.counts += Counts(failed=1)
                    continue
                if profile is None:
                    cursor.unmatched += 1  # not in Campaign (yet): ingress creates it
                    continue
                pairs.append((contact, profile))
            cursor.contacts_read += len(page.upserts)
            yield from self._write_page(run, adobe, f"d{page.number}", pairs, len(page.upserts))
            if page.resume is None:  # the last page: it carries the next delta link
                cursor.new_delta_link = page.delta_link
                break
            cursor.dynamics_resume = page.resume
            yield
        cursor.dynamics_resume = None

    # Campaign changes -> their contacts ---------------------------------------------------

    def _campaign_phase(self, run: Run[OptOutCursor], adobe: AdobeCampaignClient) -> Work:
        cursor = run.cursor
        dataverse = run.services.dataverse()
        since = cursor.window.read_from(CLOCK_SKEW)
        new_only = cursor.mode is OptOutMode.DYNAMICS_TO_CAMPAIGN
        for page in self._profile_pages(adobe, since, cursor.campaign_next):
            # DynamicsToCampaign leaves what was set in Campaign (by a person?) alone.
            keyed = [
                (contact_id(p.get("externalId")), p)
                for p in page.items
                if not new_only or never_set_in_campaign(p, cursor.pairs)
            ]
            contacts = read_contacts(dataverse, [k for k, _ in keyed if k], cursor.pairs)
            pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for key, profile in keyed:
                contact = contacts.get(key or "")
                if contact is None:
                    cursor.unmatched += 1  # not made by the integration, or its contact is gone
                    continue
                pairs.append((contact, profile))
            cursor.profiles_read += len(page.items)
            page_key = _page_key(cursor.campaign_next or "first")
            yield from self._write_page(run, adobe, f"c{page_key}", pairs, len(page.items))
            if page.next_href is None:
                break
            cursor.campaign_next = page.next_href
            yield
        cursor.campaign_next = None

    def _profile_pages(
        self, adobe: AdobeCampaignClient, since: datetime | None, start: str | None
    ) -> Iterator[Any]:
        params = {OPT_OUT_FILTER_PARAMETER: _wire_time(since or EPOCH)}
        try:
            yield from adobe.pages(
                "profile",
                line_count=self.page_size,
                start=start,
                filter_name=OPT_OUT_FILTER,
                filter_params=params,
            )
        except RecordNotFound as error:
            raise ConfigurationError(
                f"Adobe Campaign has no custom filter {OPT_OUT_FILTER} on the profile resource "
                f"(with a date parameter '{OPT_OUT_FILTER_PARAMETER}'), which the opt-out sync "
                "reads Campaign's changes through: define and publish it as the README's "
                f"'Configuring an Adobe Campaign account' says ({error})."
            ) from error

    # One page: decide, save the intent, write -------------------------------------------

    def _write_page(
        self,
        run: Run[OptOutCursor],
        adobe: AdobeCampaignClient,
        page: str,
        pairs: list[tuple[dict[str, Any], dict[str, Any]]],
        read: int,
    ) -> Work:
        cursor = run.cursor
        changes = [(plan(cursor.mode, cursor.pairs, c, p), p) for c, p in pairs]
        pending = [(change, profile) for change, profile in changes if change.pending]
        intent = cursor.in_flight
        if intent is None or intent.page != page:
            intent = PagePlan(
                page=page,
                to_campaign=sum(1 for c, _ in pending if c.campaign),
                to_dynamics=sum(1 for c, _ in pending if c.dynamics),
            )
            if pending:  # saved before the writes: a replay counts them as this page's
                cursor.in_flight = intent
                run.save_only()
                yield
        dataverse = run.services.dataverse()
        missed_campaign = sum(1 for c, _ in pending if c.campaign)
        missed_dynamics = sum(1 for c, _ in pending if c.dynamics)
        failed = 0
        for change, profile in pending:
            done = write(change, mode=cursor.mode, pairs=cursor.pairs, profile=profile,
                         adobe=adobe, dataverse=dataverse)  # fmt: skip
            missed_campaign -= bool(change.campaign and done.campaign)
            missed_dynamics -= bool(change.dynamics and done.dynamics)
            if done.failure is not None:
                failed += 1
                _fail(cursor, change.contact_id, done.failure, retry=done.retry)
                if done.retry and page.startswith("c"):
                    since = cursor.window.read_from(CLOCK_SKEW)
                    cursor.window.hold_back(_selected_at(profile, since))
        to_campaign = max(intent.to_campaign - missed_campaign, 0)
        to_dynamics = max(intent.to_dynamics - missed_dynamics, 0)
        cursor.to_campaign += to_campaign
        cursor.to_dynamics += to_dynamics
        run.counts += Counts(read=read, updated=to_campaign + to_dynamics, failed=failed)
        cursor.in_flight = None


def _fail(cursor: OptOutCursor, key: str, why: str, *, retry: bool) -> None:
    if len(cursor.failures) < MAX_FAILURES:
        cursor.failures.append(f"{key}: {' '.join(why.split())}"[:200])
    if retry and cursor.phase is Phase.DYNAMICS:
        cursor.keep_delta_link = True  # read those changes again next run


# The dates the custom filter compares with `since` (README): why a profile was selected.
FILTER_DATES = (*(f"{a.value}LastModified" for a in CampaignOptOut), "created")


def _selected_at(profile: dict[str, Any], since: datetime | None) -> datetime:
    """The earliest of the profile's filter dates on or after `since`: holding the watermark
    there makes the next run's filter select the profile again."""
    floor = since or EPOCH
    moments = [m for m in map(campaign_modified, map(profile.get, FILTER_DATES)) if m]
    return min((m for m in moments if m >= floor), default=floor)


def _disabled(cursor: OptOutCursor) -> SyncResult:
    why = "mode Disabled" if cursor.mode is OptOutMode.DISABLED else "no attribute pairs"
    return SyncResult(
        AuditStatus.COMPLETED,
        f"Opt-out sync is off for this account ({why}): nothing was read or written. Choose a "
        "mode and pairs with `adobe opt-out set`.",
    )


def _result(run: Run[OptOutCursor]) -> SyncResult:
    cursor, counts = run.cursor, run.counts
    for item, written, what in (
        (TO_CAMPAIGN, cursor.to_campaign, "profiles' opt-outs written in Campaign"),
        (TO_DYNAMICS, cursor.to_dynamics, "contacts' opt-outs written in Dynamics"),
    ):
        if written:
            run.detail(
                AuditDetail(
                    item=item,
                    status=AuditStatus.COMPLETED,
                    message=f"{written} {what}",
                    counts=Counts(updated=written),
                )
            )
    if counts.failed:
        more = counts.failed - len(cursor.failures)
        text = "; ".join(cursor.failures) + (f"; and {more} more" if more > 0 else "")
        run.detail(
            AuditDetail(
                item=FAILED_ITEM,
                status=AuditStatus.FAILED,
                message=text[:1000],
                counts=Counts(failed=counts.failed),
            )
        )
    if not counts.updated and not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = (
        f"Opt-outs {cursor.mode.value}: {cursor.contacts_read} contacts and "
        f"{cursor.profiles_read} profiles read; {cursor.to_campaign} profiles updated in "
        f"Campaign, {cursor.to_dynamics} contacts updated in Dynamics"
    )
    if cursor.unmatched:
        text += f"; {cursor.unmatched} without a counterpart"
    if cursor.full_resync_reason:
        text += f" ({cursor.full_resync_reason})"
    if not counts.failed:
        return SyncResult(AuditStatus.COMPLETED, text)
    status = AuditStatus.COMPLETED_WITH_ERRORS if counts.updated else AuditStatus.FAILED
    return SyncResult(status, f"{text}; {counts.failed} records failed")
