"""The console's one way to the data: HTTP requests to the admin API, in process (the admin
ASGI app handed in by the function), answered as JSON or as a one-line `AdminProblem`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx
from starlette.types import ASGIApp

from shared.errors import ApiError

ADMIN_PREFIX: Final = "/api/admin"
# The admin API answers from the same process; a route that takes longer than this is stuck.
TIMEOUT_SECONDS: Final = 60.0


class AdminProblem(ApiError):
    """An admin API refusal: its status and the problem's one-line `detail` (what to do)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail, status=status)
        self.detail = detail


class AdminApi:
    """Calls the admin API's routes by their documented paths and bodies, nothing else: the
    console sees exactly what a script with a function key sees (validation, messages)."""

    def __init__(self, admin: ASGIApp) -> None:
        self._transport = httpx.ASGITransport(app=admin)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        json: Any = None,
    ) -> Any:
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        async with httpx.AsyncClient(
            transport=self._transport, base_url="http://admin", timeout=TIMEOUT_SECONDS
        ) as client:
            answer = await client.request(method, f"{ADMIN_PREFIX}{path}", params=query, json=json)
        if answer.status_code >= 400:
            raise AdminProblem(answer.status_code, _detail(answer))
        return answer.json() if answer.content else None

    async def get(self, path: str, **params: str | None) -> Any:
        return await self.call("GET", path, params=params)


def _detail(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        # problem+json: `detail` is one line that says what to do (a refused field named).
        detail = str(body.get("detail") or "")
        if detail:
            return " ".join(detail.split())
    return f"The admin API answered {answer.status_code}; try again, then read the function log."
