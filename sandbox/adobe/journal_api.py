"""The Adobe I/O Events Journaling API of the sandbox's one event registration, as Adobe
documents it (developer.adobe.com/events/docs/guides/api/journaling-api):

    GET /events/organizations/{consumer}/integrations/{integration}/{registration}
        [?since=<position>][&limit=n][&latest=true]
    headers: Authorization: Bearer <token>, x-api-key, x-ims-org-id

200 `{"events": [{"position", "event"}], "_page": {"last", "count"}}` with a
`Link: <...?since=<last>>; rel="next"` header (`limit` kept in it); at the end of the journal
204 with `retry-after: 10`, a `next` link equal to the request and a `validate` link; a
position whose events expired (7 days) 410 Gone with a text body.

INFER (not documented): a position the journal never handed out is 400 with a JSON
`{"error_code", "message"}`; a wrong `x-ims-org-id` is 403 like a wrong API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.adobe.wire import gateway_error, json_response

if TYPE_CHECKING:
    from sandbox.adobe.state import AdobeState

JOURNAL = "/events/organizations/{consumer}/integrations/{integration}/{registration}"
NO_EVENTS_RETRY_AFTER = "10"


def journal_route(state: AdobeState) -> Route:
    def guard(request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not token or not state.token_valid(token):
            return gateway_error(401, "401013", "Oauth token is not valid")
        if request.headers.get("x-api-key") != state.client_id:
            return gateway_error(403, "403000", "Api Key is invalid")
        if request.headers.get("x-ims-org-id") != state.ims_org_id:
            return gateway_error(403, "403003", "Api Key is not valid for this organization")
        wait = state.take_throttle()
        if wait is not None:
            return gateway_error(429, "429050", "Too many requests", {"Retry-After": str(wait)})
        return None

    async def journal(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        journal = state.journal
        if request.path_params["registration"] != journal.registration:
            return gateway_error(404, "404001", "Event registration not found")
        query = request.query_params
        limit_text = query.get("limit")
        limit = journal.batch
        if limit_text is not None:
            if not limit_text.isdigit() or int(limit_text) < 1:
                return gateway_error(400, "400001", "limit must be a positive integer")
            limit = int(limit_text)
        with state.lock:
            now = state.now()
            live = journal.live(now)
            since = query.get("since")
            if since is not None:
                index = journal.index_of(since)
                if index is None:
                    return gateway_error(400, "400002", f"Invalid position {since}")
                if 0 <= index < len(journal.entries) and journal.entries[index] not in live:
                    return Response(
                        f"Events at position {since} have expired.",
                        status_code=410,
                        media_type="text/plain",
                    )
                after = [e for e in live if e.index > index]
            elif query.get("latest") == "true":
                index, after = len(journal.entries) - 1, []
            else:
                index, after = (live[0].index - 1 if live else len(journal.entries) - 1), live
            chunk = after[:limit]
            path = request.url.path

            def link(position: str, rel: str, suffix: str = "") -> str:
                params = [("since", position)]
                if limit_text is not None:
                    params.append(("limit", limit_text))
                return f'<{path}{suffix}?{urlencode(params)}>; rel="{rel}"'

            if not chunk:
                here = journal.position(index)
                response = Response(status_code=204, headers={"retry-after": NO_EVENTS_RETRY_AFTER})
                response.raw_headers.append((b"link", link(here, "next").encode()))
                response.raw_headers.append((b"link", link(here, "validate", "/validate").encode()))
                return response
            events = [{"position": journal.position(e.index), "event": e.event} for e in chunk]
            last = journal.position(chunk[-1].index)
            response = json_response(
                {"events": events, "_page": {"last": last, "count": len(events)}}
            )
            response.raw_headers.append((b"link", link(last, "next").encode()))
            return response

    return Route(JOURNAL, journal, methods=["GET"])
