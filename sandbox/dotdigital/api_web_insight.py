"""WebInsight page views, INFERRED: `GET /v2/contacts/web-insight/page-views/since-date/{date}`.

INFERRED: Dotdigital documents no REST read of WebInsight data (its tracking script collects it
and the platform keeps it as Insight data per session; campaign page views and ROI are read
through the campaign endpoints). The sandbox serves the account-wide sibling of the documented
`GET /v2/campaigns/{campaignId}/page-views/since-date/{date}`: the same item shape
(`ApiCampaignContactPageView {contactId, email, url, dateViewed}`) plus the view's `id` and
`durationSeconds`, oldest first, the date inclusive, select/skip paged (select 1..1000), in the
v2 error envelope. The README lists it under "Dotdigital endpoints the public API does not
document".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital.api_address_books import page, path_date
from sandbox.dotdigital.behaviour import PageViewRecord
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import iso, json_response

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

# INFERRED (see the module's docstring).
PAGE_VIEWS_SINCE = "/v2/contacts/web-insight/page-views/since-date/{date}"


def page_view(record: PageViewRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "contactId": record.contact_id,
        "email": record.email,
        "url": record.url,
        "dateViewed": iso(record.viewed),
        "durationSeconds": record.duration_seconds,
    }


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    async def since(request: Request) -> Response:
        when = path_date(request)
        start, stop = page(request, state)
        with state.lock:
            rows = state.web_insight.since(when)[start:stop]
            return json_response([page_view(r) for r in rows])

    return [Route(PAGE_VIEWS_SINCE, endpoint(since), methods=["GET"])]
