"""v2 suppressions: `GET /v2/contacts/suppressed-since/{date}` (any reason) and
`GET /v2/contacts/unsubscribed-since/{date}` (reason Unsubscribed), oldest first, select/skip
paged; each row `{suppressedContact, dateRemoved, reason}`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render
from sandbox.dotdigital.api_address_books import page, path_date
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import json_response

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint, Handler

SUPPRESSED_SINCE = "/v2/contacts/suppressed-since/{date}"
UNSUBSCRIBED_SINCE = "/v2/contacts/unsubscribed-since/{date}"


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:

    def since(reason: str | None) -> Handler:
        async def handler(request: Request) -> Response:
            when = path_date(request)
            start, stop = page(request, state)
            with state.lock:
                rows = state.store.suppressed_since(when, reason)[start:stop]
                return json_response(
                    [render.suppression(r, state.store.contacts[r.contact_id]) for r in rows]
                )

        return handler

    return [
        Route(SUPPRESSED_SINCE, endpoint(since(None)), methods=["GET"]),
        Route(UNSUBSCRIBED_SINCE, endpoint(since("Unsubscribed")), methods=["GET"]),
    ]
