"""Accounts through the admin API: add, list, show, edit, disable and enable, Test Connection,
and their errors as problem+json (unknown account, an id taken, a body that breaks a rule)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.launch import Sandboxes
from shared.runtime import Runtime
from shared.sync_types import SyncType
from tests.api.conftest import acme_body, problem
from tests.fixtures.sync_runtime import PASSWORD_SETTING


def test_an_added_account_is_listed_shown_and_provisioned(
    api: httpx.Client, acme_api: dict[str, Any], sync_runtime: Runtime
) -> None:
    assert acme_api["account_id"] == "acme" and acme_api["disabled"] is False
    assert [a["account_id"] for a in api.get("/accounts").json()] == ["acme"]
    shown = api.get("/accounts/acme")
    assert shown.status_code == 200
    assert shown.json() == acme_api
    # Provisioned as the CLI's `accounts add`: every schedule, the default mappings.
    assert len(sync_runtime.schedules.for_account("acme")) == len(SyncType)
    assert sync_runtime.mappings.for_account("acme")


def test_adding_an_id_taken_is_a_conflict_that_names_the_way_to_change_it(
    api: httpx.Client, acme_api: dict[str, Any], sandboxes: Sandboxes
) -> None:
    body = problem(api.post("/accounts", json=acme_body(sandboxes)), 409)
    assert body["detail"] == (
        "An email account 'acme' already exists: change it with `accounts edit acme ...`."
    )
    assert body["instance"] == "/api/admin/accounts"


def test_a_body_that_breaks_a_rule_names_the_field(api: httpx.Client) -> None:
    body = problem(api.post("/accounts", json={"account_id": "acme", "name": ""}), 422)
    assert body["detail"] == "body.name: String should have at least 1 character"
    assert body["errors"] == [
        {"field": "body.name", "message": "String should have at least 1 character"}
    ]
    assert problem(api.post("/accounts", content=b"not json"), 422)["detail"].startswith("body")
    undecodable = api.post(
        "/accounts", content=b"\x80abc", headers={"content-type": "application/json"}
    )
    assert problem(undecodable, 422)["detail"] == (
        "body: Cannot read the body: send a JSON object (UTF-8)"
    )
    assert api.get("/accounts").json() == []


def test_an_unknown_account_is_404_on_every_account_route(
    api: httpx.Client, acme_api: dict[str, Any]
) -> None:
    calls = [
        ("GET", "/accounts/nosuch", None),
        ("PATCH", "/accounts/nosuch", {"name": "x"}),
        ("POST", "/accounts/nosuch/disable", None),
        ("POST", "/accounts/nosuch/test-connection", None),
        ("GET", "/accounts/nosuch/schedules", None),
        ("GET", "/accounts/nosuch/audit", None),
        ("GET", "/accounts/nosuch/labels", None),
        ("GET", "/accounts/nosuch/mappings", None),
    ]
    for method, path, body in calls:
        found = problem(api.request(method, path, json=body), 404)
        assert found["detail"] == "No email account 'nosuch' (known accounts: acme).", path
        assert found["instance"] == f"/api/admin{path}"


def test_edit_changes_only_the_fields_given_and_keeps_the_accounts_rules(
    api: httpx.Client, acme_api: dict[str, Any]
) -> None:
    edited = api.patch("/accounts/acme", json={"name": "Acme", "description": "EU list"})
    assert edited.status_code == 200, edited.text
    assert edited.json() == {**acme_api, "name": "Acme", "description": "EU list"}
    assert api.get("/accounts/acme").json()["name"] == "Acme"
    refused = problem(api.patch("/accounts/acme", json={"campaign_sync_level": "All"}), 422)
    assert refused["detail"].startswith("body.campaign_sync_level: Input should be")


def test_disable_then_enable(api: httpx.Client, acme_api: dict[str, Any]) -> None:
    assert api.post("/accounts/acme/disable").json()["disabled"] is True
    assert api.get("/accounts/acme").json()["disabled"] is True
    assert api.post("/accounts/acme/enable").json()["disabled"] is False


def test_test_connection_signs_in_or_reports_the_platforms_refusal(
    api: httpx.Client, acme_api: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = api.post("/accounts/acme/test-connection")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["platform"] == "Dotdigital"
    assert body["message"].startswith(f"Connected to Dotdigital as {acme_api['api_user']}")

    monkeypatch.setenv(PASSWORD_SETTING, "not-the-password")
    failed = api.post("/accounts/acme/test-connection").json()
    assert failed["success"] is False
    assert failed["message"] and "\n" not in failed["message"]
