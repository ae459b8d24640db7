"""Call counters shared by the sandboxes: every request is recorded with its route template.

`Counters.count("GET", "/v2/data-fields")` answers "how many times was this called"; the
recorded calls also keep the host, the status sent back and the request headers (with the
Authorization value redacted) so tests can check what a client really sent.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DROPPED = 0
"""Status recorded for a request whose connection was dropped without an answer."""


@dataclass
class RecordedCall:
    server: str
    host: str
    method: str
    template: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None = None  # None while the request is still being handled


@dataclass
class Counters:
    _calls: list[RecordedCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: RecordedCall) -> RecordedCall:
        with self._lock:
            self._calls.append(call)
        return call

    def calls(
        self,
        method: str | None = None,
        template: str | None = None,
        *,
        server: str | None = None,
        host: str | None = None,
        status: int | None = None,
    ) -> list[RecordedCall]:
        with self._lock:
            calls = list(self._calls)
        return [
            call
            for call in calls
            if (method is None or call.method == method.upper())
            and (template is None or call.template == template)
            and (server is None or call.server == server)
            and (host is None or call.host == host)
            and (status is None or call.status == status)
        ]

    def count(
        self,
        method: str | None = None,
        template: str | None = None,
        *,
        server: str | None = None,
        host: str | None = None,
        status: int | None = None,
    ) -> int:
        return len(self.calls(method, template, server=server, host=host, status=status))

    def by_route(self) -> dict[tuple[str, str], int]:
        """Calls per (method, path template)."""
        with self._lock:
            return dict(Counter((call.method, call.template) for call in self._calls))

    def request_bytes(
        self, method: str | None = None, template: str | None = None, *, server: str | None = None
    ) -> int:
        """Request body bytes received (the Content-Length each client sent), for benchmarks."""
        return sum(
            int(call.headers.get("content-length") or 0)
            for call in self.calls(method, template, server=server)
        )

    def total(self) -> int:
        with self._lock:
            return len(self._calls)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The path template of the route that will handle `scope`, else the raw path."""
    partial: str | None = None
    for route in routes:
        match, _ = route.matches(scope)
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        if match is Match.FULL:
            return path
        if match is Match.PARTIAL and partial is None:
            partial = path  # right path, wrong method: Starlette answers 405 from this route
    return partial if partial is not None else str(scope["path"])


class CountingMiddleware:
    """Pure ASGI middleware: records each HTTP request before anything else can answer it."""

    def __init__(
        self, app: ASGIApp, *, counters: Counters, routes: Sequence[BaseRoute], server: str
    ) -> None:
        self.app = app
        self.counters = counters
        self.routes = routes
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", [])
        }
        if "authorization" in headers:
            scheme = headers["authorization"].split(" ", 1)[0]
            headers["authorization"] = f"{scheme} <redacted>"
        call = self.counters.record(
            RecordedCall(
                server=self.server,
                host=headers.get("host", ""),
                method=str(scope["method"]).upper(),
                template=route_template(self.routes, scope),
                path=str(scope["path"]),
                query=bytes(scope.get("query_string", b"")).decode("latin-1"),
                headers=headers,
            )
        )

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                call.status = int(message["status"])
            await send(message)

        await self.app(scope, receive, send_and_record)
        if call.status is None:
            call.status = DROPPED
