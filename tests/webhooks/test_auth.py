"""The webhook key: `code` query (WebhookKey, HttpQueryString) or `x-functions-key` header."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.webhooks.auth import KeyCheck, check_key

KEY = SecretStr("test-webhook-key")


@pytest.mark.parametrize(
    ("headers", "query", "outcome"),
    [
        ({}, {"code": "test-webhook-key"}, KeyCheck.PASSED),
        ({"X-Functions-Key": "test-webhook-key"}, {}, KeyCheck.PASSED),
        ({}, {}, KeyCheck.MISSING),
        ({"x-other": "test-webhook-key"}, {"key": "test-webhook-key"}, KeyCheck.MISSING),
        ({}, {"code": "test-webhook-kex"}, KeyCheck.WRONG),
        ({}, {"code": ""}, KeyCheck.WRONG),
        ({}, {"code": "test-webhook-key "}, KeyCheck.WRONG),
        ({}, {"code": "tëst-\udc80"}, KeyCheck.WRONG),  # not ASCII, not even valid UTF-8
        # Several carriers: one that matches is enough (the host took one of them already).
        ({"x-functions-key": "wrong"}, {"code": "test-webhook-key"}, KeyCheck.PASSED),
        ({"x-functions-key": "test-webhook-key"}, {"code": "wrong"}, KeyCheck.PASSED),
        ({"x-functions-key": "wrong"}, {"code": "also wrong"}, KeyCheck.WRONG),
    ],
)
def test_the_key_passes_in_any_carrier_and_only_when_it_matches(
    headers: dict[str, str], query: dict[str, str], outcome: KeyCheck
) -> None:
    assert check_key(KEY, headers, query) is outcome


@pytest.mark.parametrize("configured", [None, SecretStr("")])
def test_an_app_without_a_key_refuses_every_post(configured: SecretStr | None) -> None:
    assert check_key(configured, {}, {"code": ""}) is KeyCheck.NOT_CONFIGURED
    assert check_key(configured, {}, {"code": "anything"}) is KeyCheck.NOT_CONFIGURED
