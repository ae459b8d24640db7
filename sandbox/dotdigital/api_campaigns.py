"""v2 campaigns: list, sent campaigns with activity since a date, per-contact activity since a
date (select default 2000, as the spec says), summary, send and send status.

`POST /v2/campaigns/send` with empty `addressBookIds` and `contactIds` sends to ALL subscribed
contacts, as the real service does: the hazard the client guards against. 202 with the send
(Sending, or Scheduled for a future `sendDate`); `GET /v2/campaigns/send/{id}` then Sent.
Errors: 404 `Error: ERROR_CAMPAIGN_NOT_FOUND`, `Error: ERROR_ADDRESSBOOK_NOT_FOUND`;
400 `ERROR_CAMPAIGN_SENDNOTPERMITTED` (a campaign that is not Unsent or Sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render
from sandbox.dotdigital.api_address_books import BOOK_NOT_FOUND, path_date, path_int
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import json_response, parse_date, read_json, select_skip, v2_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

CAMPAIGNS = "/v2/campaigns"
CAMPAIGNS_WITH_ACTIVITY_SINCE = "/v2/campaigns/with-activity-since/{date}"
CAMPAIGN_ACTIVITIES_SINCE = "/v2/campaigns/{campaignId}/activities/since-date/{date}"
CAMPAIGN_SUMMARY = "/v2/campaigns/{campaignId}/summary"
CAMPAIGN_SEND = "/v2/campaigns/send"
CAMPAIGN_SEND_STATUS = "/v2/campaigns/send/{sendId}"
CAMPAIGN_NOT_FOUND = "Error: ERROR_CAMPAIGN_NOT_FOUND"


def _ids(value: object) -> list[int] | None:
    if value is None:
        return []
    if isinstance(value, list) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        return list(value)
    return None


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    def window(request: Request, default: int = 1000, maximum: int = 1000) -> tuple[int, int]:
        select, skip = select_skip(request, default=default, maximum=maximum)
        skip = 0 if state.ignore_skip else skip
        return skip, skip + select

    async def list_campaigns(request: Request) -> Response:
        start, stop = window(request)
        with state.lock:
            rows = list(state.campaigns.values())[start:stop]
            return json_response([render.campaign(c) for c in rows])

    async def with_activity_since(request: Request) -> Response:
        since = path_date(request)
        start, stop = window(request)
        with state.lock:
            rows = [
                c
                for c in state.campaigns.values()
                if c.status == "Sent" and (c.last_activity() or 0.0) >= since
            ][start:stop]
            return json_response([render.campaign(c) for c in rows])

    async def activities_since(request: Request) -> Response:
        since = path_date(request)
        start, stop = window(request, default=2000, maximum=2000)
        with state.lock:
            campaign_id = path_int(request, "campaignId")
            campaign = None if campaign_id is None else state.campaigns.get(campaign_id)
            if campaign is None:
                return v2_error(404, CAMPAIGN_NOT_FOUND)
            rows = [a for a in campaign.activities.values() if a.last_activity >= since]
            return json_response([render.activity(a) for a in rows[start:stop]])

    async def summary(request: Request) -> Response:
        with state.lock:
            campaign_id = path_int(request, "campaignId")
            campaign = None if campaign_id is None else state.campaigns.get(campaign_id)
            if campaign is None:
                return v2_error(404, CAMPAIGN_NOT_FOUND)
            return json_response(render.campaign_summary(campaign))

    async def send(request: Request) -> Response:
        ok, body = await read_json(request)
        if not ok or not isinstance(body, dict):
            return v2_error(400, "The send request is not a JSON object. ERROR_PARAMETER_INVALID")
        fields = {str(k).lower(): v for k, v in body.items()}
        campaign_id = fields.get("campaignid")
        books = _ids(fields.get("addressbookids"))
        contacts = _ids(fields.get("contactids"))
        if not isinstance(campaign_id, int) or books is None or contacts is None:
            return v2_error(400, "The send request is invalid. ERROR_PARAMETER_INVALID")
        send_date = None
        if fields.get("senddate"):
            send_date = parse_date(str(fields["senddate"]))
            if send_date is None:
                return v2_error(400, "The sendDate is not a date. ERROR_PARAMETER_INVALID")
        with state.lock:
            campaign = state.campaigns.get(campaign_id)
            if campaign is None:
                return v2_error(404, CAMPAIGN_NOT_FOUND)
            if campaign.status not in ("Unsent", "Sent"):
                return v2_error(400, "The campaign cannot be sent. ERROR_CAMPAIGN_SENDNOTPERMITTED")
            if any(book_id not in state.store.books for book_id in books):
                return v2_error(404, BOOK_NOT_FOUND)
            record = state.send_campaign(campaign, books, contacts, send_date)
            return json_response(render.campaign_send(record), 202)

    async def send_status(request: Request) -> Response:
        with state.lock:
            record = state.send_by_id(str(request.path_params["sendId"]).lower())
            if record is None:
                return v2_error(404, "The send was not found. ERROR_PARAMETER_INVALID")
            record.polls += 1
            if record.status == "Sending":
                record.status = "Sent"
            return json_response(render.campaign_send(record))

    return [
        Route(CAMPAIGNS, endpoint(list_campaigns), methods=["GET"]),
        Route(CAMPAIGNS_WITH_ACTIVITY_SINCE, endpoint(with_activity_since), methods=["GET"]),
        Route(CAMPAIGN_SEND, endpoint(send), methods=["POST"]),
        Route(CAMPAIGN_SEND_STATUS, endpoint(send_status), methods=["GET"]),
        Route(CAMPAIGN_ACTIVITIES_SINCE, endpoint(activities_since), methods=["GET"]),
        Route(CAMPAIGN_SUMMARY, endpoint(summary), methods=["GET"]),
    ]
