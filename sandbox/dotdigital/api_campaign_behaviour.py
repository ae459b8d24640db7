"""v2 campaign behaviour reads: clicks, page views and ROI details since a date, and social
bookmark views (the spec gives no since-date form for these: every row, paged).

    GET /v2/campaigns/{campaignId}/clicks/since-date/{date}        ApiCampaignContactClick
    GET /v2/campaigns/{campaignId}/page-views/since-date/{date}    ApiCampaignContactPageView
    GET /v2/campaigns/{campaignId}/roi-details/since-date/{date}   ApiCampaignContactRoiDetail
    GET /v2/campaigns/{campaignId}/social-bookmark-views           ...SocialBookmarkView

All page with select (1..1000, default 1000) and skip, in the order the events happened, until
a page comes back short. 404 `Error: ERROR_CAMPAIGN_NOT_FOUND` for an unknown campaign.
`state.faults.fail_route(template, status)` makes one of these reads (or the activities read)
fail on every call: a dataset that cannot be read while the others can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital.api_address_books import path_date, path_int
from sandbox.dotdigital.campaigns import (
    BookmarkRecord,
    CampaignRecord,
    ClickRecord,
    PageViewRecord,
    RoiRecord,
)
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import iso, json_response, select_skip, v2_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

CAMPAIGN_CLICKS_SINCE = "/v2/campaigns/{campaignId}/clicks/since-date/{date}"
CAMPAIGN_PAGE_VIEWS_SINCE = "/v2/campaigns/{campaignId}/page-views/since-date/{date}"
CAMPAIGN_ROI_DETAILS_SINCE = "/v2/campaigns/{campaignId}/roi-details/since-date/{date}"
CAMPAIGN_SOCIAL_BOOKMARK_VIEWS = "/v2/campaigns/{campaignId}/social-bookmark-views"
CAMPAIGN_NOT_FOUND = "Error: ERROR_CAMPAIGN_NOT_FOUND"


def click(row: ClickRecord) -> dict[str, Any]:
    return {
        "contactId": row.contact_id,
        "email": row.email,
        "url": row.url,
        "ipAddress": "192.0.2.10",
        "userAgent": "Mozilla/5.0 (sandbox)",
        "dateClicked": iso(row.date),
        "keyword": "",
    }


def page_view(row: PageViewRecord) -> dict[str, Any]:
    return {"contactId": row.contact_id, "email": row.email, "url": row.url,
            "dateViewed": iso(row.date)}  # fmt: skip


def roi_detail(row: RoiRecord) -> dict[str, Any]:
    return {"contactId": row.contact_id, "email": row.email, "markerName": row.marker,
            "dataType": row.data_type, "value": row.value,
            "dateEntered": iso(row.date)}  # fmt: skip


def bookmark_view(row: BookmarkRecord) -> dict[str, Any]:
    return {"contactId": row.contact_id, "email": row.email, "bookmarkName": row.name,
            "numViews": row.num_views}  # fmt: skip


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    def campaign_of(request: Request) -> CampaignRecord | None:
        campaign_id = path_int(request, "campaignId")
        return None if campaign_id is None else state.campaigns.get(campaign_id)

    def since_read(
        template: str,
        rows_of: Callable[[CampaignRecord], Sequence[Any]],
        render: Callable[[Any], dict[str, Any]],
    ) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            since = path_date(request)
            select, skip = select_skip(request)
            skip = 0 if state.ignore_skip else skip
            with state.lock:
                campaign = campaign_of(request)
                if campaign is None:
                    return v2_error(404, CAMPAIGN_NOT_FOUND)
                rows = [row for row in rows_of(campaign) if row.date >= since]
                return json_response([render(row) for row in rows[skip : skip + select]])

        return handler

    async def social_bookmark_views(request: Request) -> Response:
        select, skip = select_skip(request)
        skip = 0 if state.ignore_skip else skip
        with state.lock:
            campaign = campaign_of(request)
            if campaign is None:
                return v2_error(404, CAMPAIGN_NOT_FOUND)
            rows = campaign.bookmarks[skip : skip + select]
            return json_response([bookmark_view(row) for row in rows])

    reads = (
        (CAMPAIGN_CLICKS_SINCE, lambda c: c.clicks, click),
        (CAMPAIGN_PAGE_VIEWS_SINCE, lambda c: c.page_views, page_view),
        (CAMPAIGN_ROI_DETAILS_SINCE, lambda c: c.roi_details, roi_detail),
    )
    return [
        *(
            Route(template, endpoint(since_read(template, rows_of, render)), methods=["GET"])
            for template, rows_of, render in reads
        ),
        Route(CAMPAIGN_SOCIAL_BOOKMARK_VIEWS, endpoint(social_bookmark_views), methods=["GET"]),
    ]
