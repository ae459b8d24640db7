"""Campaign behaviour reads (v2): clicks, page views and ROI details since a date, and social
bookmark views (no since-date form exists for these: every row each time), each paged lazily
with select/skip and resumable from a page's `resume`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.paging import Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import (
    CAMPAIGN_CLICKS_SINCE,
    CAMPAIGN_PAGE_VIEWS_SINCE,
    CAMPAIGN_ROI_DETAILS_SINCE,
    CAMPAIGN_SOCIAL_BOOKMARK_VIEWS,
    Route,
)
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    field,
    int_field,
    parse_datetime,
    str_field,
    utc_text,
)

T = TypeVar("T")


class CampaignClick(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: int
    email: str
    url: str
    date_clicked: datetime | None = None


class CampaignPageView(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: int
    email: str
    url: str
    date_viewed: datetime | None = None


class CampaignRoiDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: int
    email: str
    marker_name: str
    data_type: str = ""
    value: str = ""  # as text, whatever its data type
    date_entered: datetime | None = None


class CampaignSocialBookmarkView(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: int
    email: str
    bookmark_name: str
    num_views: int = 0


def campaign_click(item: Any) -> CampaignClick:
    item = as_object(item, "a campaign click")
    return CampaignClick(
        contact_id=int_field(item, "contactId"),
        email=str_field(item, "email"),
        url=str_field(item, "url"),
        date_clicked=parse_datetime(field(item, "dateClicked")),
    )


def campaign_page_view(item: Any) -> CampaignPageView:
    item = as_object(item, "a campaign page view")
    return CampaignPageView(
        contact_id=int_field(item, "contactId"),
        email=str_field(item, "email"),
        url=str_field(item, "url"),
        date_viewed=parse_datetime(field(item, "dateViewed")),
    )


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def campaign_roi_detail(item: Any) -> CampaignRoiDetail:
    item = as_object(item, "a campaign ROI detail")
    return CampaignRoiDetail(
        contact_id=int_field(item, "contactId"),
        email=str_field(item, "email"),
        marker_name=str_field(item, "markerName"),
        data_type=str_field(item, "dataType"),
        value=_value_text(field(item, "value")),
        date_entered=parse_datetime(field(item, "dateEntered")),
    )


def campaign_social_bookmark_view(item: Any) -> CampaignSocialBookmarkView:
    item = as_object(item, "a campaign social bookmark view")
    return CampaignSocialBookmarkView(
        contact_id=int_field(item, "contactId"),
        email=str_field(item, "email"),
        bookmark_name=str_field(item, "bookmarkName"),
        num_views=int_field(item, "numViews"),
    )


class CampaignBehaviourApi(DotdigitalTransport):
    def _campaign_rows(
        self,
        route: Route,
        campaign_id: int,
        since: datetime | None,
        convert: Callable[[Any], T],
        what: str,
        *,
        select: int,
        skip: int,
    ) -> Paged[T, int]:
        check_select(select)
        path: dict[str, object] = {"campaignId": campaign_id}
        if since is not None:
            path["date"] = utc_text(since)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(route, path=path, params={"select": size, "skip": skip})
            return as_list(page, what)

        label = f"campaign {campaign_id} {what}"
        return v2_paged(fetch, convert, select=select, what=label, skip=skip)

    def iter_campaign_clicks_since(
        self, campaign_id: int, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[CampaignClick, int]:
        return self._campaign_rows(CAMPAIGN_CLICKS_SINCE, campaign_id, since, campaign_click,
                                   "clicks", select=select, skip=skip)  # fmt: skip

    def iter_campaign_page_views_since(
        self, campaign_id: int, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[CampaignPageView, int]:
        return self._campaign_rows(CAMPAIGN_PAGE_VIEWS_SINCE, campaign_id, since,
                                   campaign_page_view, "page views", select=select,
                                   skip=skip)  # fmt: skip

    def iter_campaign_roi_details_since(
        self, campaign_id: int, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[CampaignRoiDetail, int]:
        return self._campaign_rows(CAMPAIGN_ROI_DETAILS_SINCE, campaign_id, since,
                                   campaign_roi_detail, "ROI details", select=select,
                                   skip=skip)  # fmt: skip

    def iter_campaign_social_bookmark_views(
        self, campaign_id: int, *, select: int = 1000, skip: int = 0
    ) -> Paged[CampaignSocialBookmarkView, int]:
        """Every social bookmark view of the campaign (the API has no since-date form)."""
        return self._campaign_rows(CAMPAIGN_SOCIAL_BOOKMARK_VIEWS, campaign_id, None,
                                   campaign_social_bookmark_view, "social bookmark views",
                                   select=select, skip=skip)  # fmt: skip
