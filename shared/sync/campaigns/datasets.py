"""The behaviour datasets of a campaign, in the order the product reports them (seed:
"EmailSendSummaries, EmailClicks, SocialNetworkBookmarks, RoiDetails, PageViews"): how each is
read from the platform (page by page from a saved position) and which Dynamics row each item
becomes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.audit import Messages
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.paging import V2_LARGE_MAX_SELECT, V2_MAX_SELECT, Paged
from shared.dynamics_schema.engagement import (
    EMAIL_CLICK,
    EMAIL_ROI_DETAIL,
    EMAIL_SEND_SUMMARY,
    SOCIAL_BOOKMARK,
    WEB_PAGE_VIEW,
)
from shared.sync.campaigns import rows
from shared.sync.campaigns.rows import Body

Read = Callable[[DotdigitalClient, int, datetime, int, int], Paged[Any, int]]
"""(client, campaign id, since, select, skip) -> the paged read."""
Build = Callable[[str, int, str, str, Any], tuple[str, Body]]
"""(account id, campaign id, campaign row id, campaign name, item) -> (row id, body)."""


@dataclass(frozen=True)
class Dataset:
    name: str  # as the audit names it
    label: str  # what its rows are called in a detail message
    entity_set: str
    read: Read
    build: Build
    page_size: int = V2_MAX_SELECT


def _summaries(client: DotdigitalClient, cid: int, since: datetime, size: int, skip: int) -> Any:
    return client.iter_campaign_activities_since(cid, since, select=size, skip=skip)


def _clicks(client: DotdigitalClient, cid: int, since: datetime, size: int, skip: int) -> Any:
    return client.iter_campaign_clicks_since(cid, since, select=size, skip=skip)


def _bookmarks(client: DotdigitalClient, cid: int, since: datetime, size: int, skip: int) -> Any:
    # No since-date form in the API: every view each time (rows are upserts, so the same).
    return client.iter_campaign_social_bookmark_views(cid, select=size, skip=skip)


def _roi(client: DotdigitalClient, cid: int, since: datetime, size: int, skip: int) -> Any:
    return client.iter_campaign_roi_details_since(cid, since, select=size, skip=skip)


def _views(client: DotdigitalClient, cid: int, since: datetime, size: int, skip: int) -> Any:
    return client.iter_campaign_page_views_since(cid, since, select=size, skip=skip)


def _without_name(build: Callable[[str, int, str, Any], tuple[str, Body]]) -> Build:
    return lambda account, cid, row, _name, item: build(account, cid, row, item)


DATASETS: tuple[Dataset, ...] = (
    Dataset("EmailSendSummaries", "send summaries", EMAIL_SEND_SUMMARY.entity_set, _summaries,
            rows.send_summary, page_size=V2_LARGE_MAX_SELECT),
    Dataset("EmailClicks", "clicks", EMAIL_CLICK.entity_set, _clicks,
            _without_name(rows.email_click)),
    Dataset("SocialNetworkBookmarks", "social bookmarks", SOCIAL_BOOKMARK.entity_set, _bookmarks,
            _without_name(rows.social_bookmark)),
    Dataset("RoiDetails", "ROI details", EMAIL_ROI_DETAIL.entity_set, _roi,
            _without_name(rows.roi_detail)),
    Dataset("PageViews", "page views", WEB_PAGE_VIEW.entity_set, _views,
            _without_name(rows.page_view)),
)  # fmt: skip
DATASET_NAMES = tuple(d.name for d in DATASETS)


def failed_message(failed: Iterable[str]) -> str:
    """The seed's message naming the datasets that failed, in the product's order."""
    names = set(failed)
    return Messages.DATASETS_FAILED.format(", ".join(n for n in DATASET_NAMES if n in names))
