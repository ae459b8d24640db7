"""What a person sees when the admin API fails or answers nonsense: one line saying what to
do, never a traceback or the host's bare 500."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
from markupsafe import escape
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.console.app import UNEXPECTED, console_app


def admin_answering(status: int, body: bytes, content_type: str) -> ASGIApp:
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", content_type.encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return admin


def get(admin: ASGIApp, path: str) -> httpx.Response:
    """GET from the console over `admin`, in a thread of its own: the browser tests' Playwright
    keeps an event loop running in this one."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=console_app(admin, environ={}))
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            return await client.get(path)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, call()).result()


def test_an_admin_api_failure_is_its_one_line_detail() -> None:
    problem = {"type": "about:blank", "title": "Internal Server Error", "status": 500,
               "detail": "Internal server error", "instance": "/api/admin/accounts"}  # fmt: skip
    admin = admin_answering(500, json.dumps(problem).encode(), "application/problem+json")
    answer = get(admin, "/api/console/accounts")
    assert answer.status_code == 500
    assert '<p class="error" role="alert">Internal server error</p>' in answer.text


def test_nonsense_from_the_admin_api_is_a_page_not_a_traceback() -> None:
    admin = admin_answering(200, b"<html>not json</html>", "text/html")
    answer = get(admin, "/api/console/accounts")
    assert answer.status_code == 500
    assert str(escape(UNEXPECTED)) in answer.text and "Traceback" not in answer.text
    assert "frame-ancestors" in answer.headers["content-security-policy"]
