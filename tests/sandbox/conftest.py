"""Fixtures of the sandbox tests."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.sandboxes import DotdigitalSandbox


@pytest.fixture
def dotdigital_http(
    dotdigital_sandbox: DotdigitalSandbox, validated_dotdigital_http: httpx.Client
) -> httpx.Client:
    """Raw HTTP to the account's region as its API user, validated against the OpenAPI."""
    validated_dotdigital_http.auth = (
        dotdigital_sandbox.api_user,
        dotdigital_sandbox.password.get_secret_value(),
    )
    validated_dotdigital_http.base_url = httpx.URL(dotdigital_sandbox.api_endpoint)
    return validated_dotdigital_http
