"""Who gets the console: the local operator outside Azure; in Azure only a person signed in by
App Service Authentication with the Connector.Admin role. Forms from another site are refused,
and only Dynamics (or the origins of CONSOLE_FRAME_ANCESTORS) and the console itself may frame
it."""

from __future__ import annotations

import asyncio
import base64
import html
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from shared.api.app import asgi_app
from shared.console.app import console_app
from shared.console.auth import NotAllowed, Viewer, viewer
from shared.errors import ConfigurationError
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.settings import Settings
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType

AZURE = {"WEBSITE_INSTANCE_ID": "0a1b2c", "WEBSITE_AUTH_ENABLED": "True"}


def principal(*claims: tuple[str, str]) -> str:
    body = {"auth_typ": "aad", "claims": [{"typ": t, "val": v} for t, v in claims]}
    return base64.b64encode(json.dumps(body).encode()).decode()


def test_outside_azure_the_local_operator_uses_the_console() -> None:
    assert viewer({}, {}) == Viewer(name="local operator", local=True)


def test_in_azure_without_app_service_authentication_nobody_does() -> None:
    # Without Easy Auth in front, the principal header is whatever the caller sent.
    forged = {"x-ms-client-principal": principal(("roles", "Connector.Admin"))}
    refused = viewer(forged, {"WEBSITE_INSTANCE_ID": "0a1b2c"})
    assert isinstance(refused, NotAllowed) and refused.status == 503
    assert "App Service Authentication" in refused.message


def test_in_azure_a_person_signs_in_and_needs_the_role() -> None:
    anonymous = viewer({}, AZURE)
    assert isinstance(anonymous, NotAllowed)
    assert (anonymous.status, anonymous.sign_in) == (401, True)

    operator = principal(("name", "Ada Lovelace"), ("roles", "Connector.Admin"))
    assert viewer({"x-ms-client-principal": operator}, AZURE) == Viewer("Ada Lovelace", False)

    reader = viewer({"x-ms-client-principal": principal(("name", "Bob"))}, AZURE)
    assert isinstance(reader, NotAllowed) and reader.status == 403
    assert "Connector.Admin" in reader.message

    unreadable = viewer({"x-ms-client-principal": "not base64 json"}, AZURE)
    assert isinstance(unreadable, NotAllowed) and unreadable.status == 401


def test_a_form_posted_from_another_site_changes_nothing(
    console_host: LocalHost, sync_runtime: Runtime
) -> None:
    answer = httpx.post(
        f"{console_host.base_url}/api/console/accounts/acme/schedules",
        data={"action": "sync-now", "sync_type": "CrmMetadata"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://elsewhere.example"},
    )
    assert answer.status_code == 403
    assert "another site" in answer.text
    status = sync_runtime.schedules.get("acme", SyncType.CRM_METADATA).status
    assert status is ScheduleStatus.NONE


def test_pages_may_be_framed_only_by_dynamics_and_themselves(console_host: LocalHost) -> None:
    answer = httpx.get(f"{console_host.base_url}/api/console/accounts")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://*.dynamics.com" in policy
    assert "script-src" not in policy and "'unsafe-inline'" not in policy  # default-src 'self'

    # An org that embeds it from another domain sets CONSOLE_FRAME_ANCESTORS.
    origins = "https://contoso.crm4.dynamics.com  https://*.powerapps.com"
    answer = console_get({"CONSOLE_FRAME_ANCESTORS": origins}, "/api/console/accounts")
    assert answer.status_code == 200 and "Acme newsletters" in answer.text
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://contoso.crm4.dynamics.com https://*.powerapps.com;" in (
        policy
    )
    assert "dynamics.com https://*.dynamics.com" not in policy  # the default is replaced
    # Empty: only the console itself.
    answer = console_get({"CONSOLE_FRAME_ANCESTORS": ""}, "/api/console/accounts")
    assert "frame-ancestors 'self';" in answer.headers["content-security-policy"]


@pytest.mark.parametrize(
    "origins",
    ["http://contoso.crm4.dynamics.com", "https://contoso.crm4.dynamics.com/main.aspx", "*",
     "https://*.dynamics.com; script-src *"],
    ids=["http", "path", "anyone", "more-policy"],
)  # fmt: skip
def test_frame_origins_not_https_origins_are_one_line_saying_what_to_set(
    console_host: LocalHost, origins: str
) -> None:
    answer = console_get({"CONSOLE_FRAME_ANCESTORS": origins}, "/api/console/accounts")
    assert answer.status_code == 503
    message = html.unescape(answer.text)
    assert "Invalid app settings: CONSOLE_FRAME_ANCESTORS: must be https origins" in message
    assert "Acme newsletters" not in message  # no page but the line
    # Until it is fixed no one may frame the console but itself.
    assert "frame-ancestors 'self';" in answer.headers["content-security-policy"]
    with pytest.raises(ConfigurationError, match="CONSOLE_FRAME_ANCESTORS"):
        Settings(CONSOLE_FRAME_ANCESTORS=origins)


def console_get(environ: dict[str, str], path: str) -> httpx.Response:
    """GET from a console over the function app's admin API with these app settings, in a
    thread of its own: the browser tests' Playwright keeps an event loop running in this one."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=console_app(asgi_app(), environ=environ))
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            return await client.get(path)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, call()).result()
