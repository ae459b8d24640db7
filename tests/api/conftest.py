"""The admin API over real HTTP: the function app on the local host, with the sync runtime
(Azurite and both sandboxes) installed, and `acme` added through the API itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from sandbox.launch import Sandboxes
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.runtime import Runtime
from tests.fixtures.sync_runtime import PASSWORD_SETTING

PROBLEM = "application/problem+json"


@pytest.fixture
def api_host(sync_runtime: Runtime) -> Iterator[LocalHost]:
    host = build_host(sync_runtime, visibility=timedelta(seconds=2), max_deliveries=3)
    host.serve_http()
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def api(api_host: LocalHost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{api_host.base_url}/api/admin", timeout=30) as client:
        yield client


def acme_body(sandboxes: Sandboxes) -> dict[str, Any]:
    return {
        "account_id": "acme",
        "name": "Acme newsletters",
        "api_user": sandboxes.credentials.api_user,
        "api_password_secret_name": PASSWORD_SETTING,
    }


@pytest.fixture
def acme_api(api: httpx.Client, sandboxes: Sandboxes) -> dict[str, Any]:
    """`acme` added with POST /accounts: provisioned with its mappings and schedules."""
    answer = api.post("/accounts", json=acme_body(sandboxes))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The answer's problem+json body, checked for the RFC 9457 members and one-line detail."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert "\n" not in body["detail"] and body["detail"]
    assert "Traceback" not in answer.text
    return body
