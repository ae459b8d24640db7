"""The file drop over the admin API (real HTTP, Azurite): PUT a whole S3 or SFTP drop, GET it
back, refusals as problem+json, DELETE it."""

from __future__ import annotations

import httpx
import pytest

from shared.runtime import Runtime
from tests.api.conftest import problem
from tests.fixtures.adobe_accounts import save_adobe_account


@pytest.fixture
def drop(sync_runtime: Runtime) -> str:
    save_adobe_account(sync_runtime, "acs")
    return "/accounts/acs/adobe/file-drop"


def test_an_s3_drop_round_trips_and_is_cleared(api: httpx.Client, drop: str) -> None:
    assert api.get(drop).json() == {"account_id": "acs", "settings": None, "loads": []}
    body = {
        "destination": {"kind": "s3", "bucket": "acme-drop", "region": "eu-west-1",
                        "access_key_id_setting": "ACME_S3_KEY_ID",
                        "secret_access_key_setting": "ACME_S3_SECRET"},
        "workflow_id": "WKF12", "gzip": True,
    }  # fmt: skip
    answer = api.put(drop, json=body)
    assert answer.status_code == 200, answer.text
    assert "s3://acme-drop/d365_loads/" in answer.json()["message"]
    settings = api.get(drop).json()["settings"]
    assert settings["destination"]["secret_access_key_setting"] == "ACME_S3_SECRET"
    assert (settings["threshold"], settings["gzip"], settings["separator"]) == (500000, True, "\t")

    assert api.delete(drop).status_code == 200
    assert api.get(drop).json()["settings"] is None


def test_a_secret_value_has_no_field_and_a_bad_drop_is_422(api: httpx.Client, drop: str) -> None:
    refused = problem(api.put(drop, json={
        "destination": {"kind": "ftp", "host": "h"}, "workflow_id": "WKF12"}), 422)  # fmt: skip
    assert "destination" in refused["detail"]
    refused = problem(api.put(drop, json={
        "destination": {"kind": "sftp", "host": "h.example.com", "username": "u",
                        "host_key": "ssh-ed25519 AAAA", "password_setting": "P",
                        "private_key_setting": "K"},
        "workflow_id": "WKF12"}), 422)  # fmt: skip
    assert "exactly one of private_key_setting" in refused["detail"]
