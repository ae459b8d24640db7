"""The concurrent-request limit of the Dataverse service protection (PAD `api-limits.md`).

More than `state.concurrency_limit` Web API requests in flight at once (52 by default, as
documented) are refused at once with 429, `Retry-After` and error `0x80072326` "Number of
concurrent requests exceeded the limit of 52." The state records the highest number seen in
flight, so a test can show a client's cap holds.

Placed outside the fault middleware, so injected latency counts as time in flight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.dataverse.odata import ODataError
from sandbox.dataverse.webapi import error_response

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

CONCURRENCY_CODE = "0x80072326"


class ConcurrencyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, state: DataverseState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if not self.state.enter_request():
            limit = self.state.concurrency_limit
            response = error_response(
                ODataError(
                    429,
                    CONCURRENCY_CODE,
                    f"Number of concurrent requests exceeded the limit of {limit}.",
                    {"Retry-After": str(self.state.concurrency_retry_after)},
                ),
                self.state.trace_id(),
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [
                        (k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers
                    ],
                }
            )
            await send({"type": "http.response.body", "body": response.body})
            return
        # The request leaves before its last body part goes out: a client that gets its answer
        # and sends the next request at once must not find the previous one still counted.
        left = False

        async def send_and_leave(message: Message) -> None:
            nonlocal left
            final = message["type"] == "http.response.body" and not message.get("more_body")
            if final and not left:
                left = True
                self.state.leave_request()
            await send(message)

        try:
            await self.app(scope, receive, send_and_leave)
        finally:
            if not left:
                self.state.leave_request()
