"""WebInsight page views (INFERRED endpoint): the pages contacts viewed since a date.

The public API documents no REST read of WebInsight data: the site's tracking script collects
it and Dotdigital stores it as Insight data per session (35 minutes idle ends a session);
campaign page views and ROI are read through the campaign endpoints. The connector reads
`GET /v2/contacts/web-insight/page-views/since-date/{date}?select&skip`, an account-wide
sibling of the documented `GET /v2/campaigns/{campaignId}/page-views/since-date/{date}`
(`ApiCampaignContactPageView {contactId, email, url, dateViewed}`) with the view's own `id` and
`durationSeconds` added, paged by select/skip (at most 1000) and ordered by date viewed, as the
v2 "since" reads are. Only the sandbox serves it (marked INFERRED there; README, "Dotdigital
endpoints the public API does not document").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.paging import Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import WEB_INSIGHT_PAGE_VIEWS_SINCE
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


class PageView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int  # the platform's id of the view: the natural key of its row in Dynamics
    contact_id: int
    email: str
    url: str
    date_viewed: datetime | None
    duration_seconds: int | None = None


def page_view(item: Any) -> PageView:
    item = as_object(item, "a page view")
    duration = field(item, "durationSeconds")
    return PageView(
        id=int_field(item, "id"),
        contact_id=int_field(item, "contactId"),
        email=str_field(item, "email"),
        url=str_field(item, "url"),
        date_viewed=parse_datetime(field(item, "dateViewed")),
        duration_seconds=None if duration is None else int_field(item, "durationSeconds"),
    )


class WebInsightApi(DotdigitalTransport):
    def iter_page_views_since(
        self, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[PageView, int]:
        """WebInsight page views of every contact since `since` (aware), oldest first."""
        check_select(select)
        date = utc_text(since)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(
                WEB_INSIGHT_PAGE_VIEWS_SINCE,
                path={"date": date},
                params={"select": size, "skip": skip},
            )
            return as_list(page, "page views")

        return v2_paged(fetch, page_view, select=select, what="page views", skip=skip)
