"""What every screen shares: the admin API, the templates, and reading a posted form."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shared.console.admin_client import AdminApi


class Pages:
    def __init__(self, api: AdminApi, env: Environment) -> None:
        self.api = api
        self.env = env

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(template).render(**context), status)

    async def account_of(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The admin API path of the account the URL names, and the account (404 if none)."""
        path = f"/accounts/{quote(request.path_params['account'])}"
        account: dict[str, Any] = await self.api.get(path)
        return path, account


async def form_of(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the console's forms post nothing else), first values."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
