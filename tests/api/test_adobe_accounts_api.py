"""An Adobe Campaign account through the admin API: added with its connection settings, shown
(the secret's setting name, never a secret), edited, and its Test Connection."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import problem
from tests.fixtures.sandboxes import AdobeSandbox
from tests.fixtures.sync_runtime import ACS_SECRET_SETTING


def globex_body(adobe_sandbox: AdobeSandbox) -> dict[str, Any]:
    return {
        "account_id": "globex",
        "name": "Globex campaigns",
        "platform": "AdobeCampaign",
        "adobe": {
            "organization": adobe_sandbox.state.organization,
            "base_url": adobe_sandbox.base_url,
            "ims_url": adobe_sandbox.ims_url,
            "client_id": adobe_sandbox.client_id,
            "client_secret_name": ACS_SECRET_SETTING,
            "scopes": adobe_sandbox.scopes,
        },
    }


def test_an_adobe_account_is_added_shown_and_tested(
    api: httpx.Client, adobe_sandbox: AdobeSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ACS_SECRET_SETTING, adobe_sandbox.client_secret.get_secret_value())
    added = api.post("/accounts", json=globex_body(adobe_sandbox))
    assert added.status_code == 201, added.text
    shown = api.get("/accounts/globex").json()
    assert shown["adobe"]["client_secret_name"] == ACS_SECRET_SETTING
    assert adobe_sandbox.client_secret.get_secret_value() not in str(shown)
    tested = api.post("/accounts/globex/test-connection").json()
    assert tested["success"] is True and tested["platform"] == "AdobeCampaign"
    assert tested["message"].startswith(f"Connected to Adobe Campaign at {adobe_sandbox.base_url}")

    monkeypatch.setenv(ACS_SECRET_SETTING, "not-the-secret")
    failed = api.post("/accounts/globex/test-connection").json()
    assert failed["success"] is False and "invalid_client" in failed["message"]


def test_an_adobe_account_without_its_connection_is_refused(api: httpx.Client) -> None:
    body = {"account_id": "globex", "name": "G", "platform": "AdobeCampaign"}
    refused = problem(api.post("/accounts", json=body), 422)
    assert "needs its connection" in refused["detail"]
    assert api.get("/accounts").json() == []


def test_editing_the_connection_replaces_it_and_keeps_its_rules(
    api: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    assert api.post("/accounts", json=globex_body(adobe_sandbox)).status_code == 201
    connection = {**globex_body(adobe_sandbox)["adobe"], "scopes": "openid,campaign_sdk"}
    edited = api.patch("/accounts/globex", json={"adobe": connection})
    assert edited.status_code == 200, edited.text
    assert edited.json()["adobe"]["scopes"] == "openid,campaign_sdk"
    wrong = {**connection, "base_url": "https://mc.adobe.io/otherorg/campaign"}
    assert problem(api.patch("/accounts/globex", json={"adobe": wrong}), 422)
