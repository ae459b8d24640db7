"""Token acquisition, caching, refresh on 401 and refused credentials, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from sandbox.clock import ManualClock
from sandbox.dataverse import ATTRIBUTES_TEMPLATE, DISCOVERY_TEMPLATE, TOKEN_TEMPLATE
from shared.clients import DataverseClient, MsalTokenProvider, RetryPolicy
from shared.errors import ApiError, AuthenticationError, ConfigurationError
from shared.settings import Settings
from tests.fixtures.sandboxes import DataverseSandbox


def _provider(
    sandbox: DataverseSandbox,
    http: httpx.Client,
    *,
    secret: str | None = None,
    tenant_id: str | None = None,
) -> MsalTokenProvider:
    return MsalTokenProvider(
        tenant_id or sandbox.tenant_id,
        sandbox.client_id,
        SecretStr(secret) if secret is not None else sandbox.client_secret,
        org_url=sandbox.org_url,
        authority_host=sandbox.authority_host,
        http_client=http,
    )


def test_one_token_request_serves_several_calls(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    for entity in ("contact", "lead", "account", "contact"):
        assert dataverse_client.entity_attributes(entity)

    counters = dataverse_sandbox.state.counters
    assert counters.count("GET", DISCOVERY_TEMPLATE) == 1
    assert counters.count("POST", TOKEN_TEMPLATE) == 1
    assert counters.count("GET", ATTRIBUTES_TEMPLATE, status=200) == 4


def test_token_scope_and_authority_follow_the_org(
    dataverse_sandbox: DataverseSandbox, dataverse_http: httpx.Client
) -> None:
    provider = _provider(dataverse_sandbox, dataverse_http)
    assert provider.scope == f"{dataverse_sandbox.url}/.default"
    assert provider.authority == f"{dataverse_sandbox.url}/{dataverse_sandbox.tenant_id}"
    token = provider.token()
    assert provider.token() == token  # cached by msal
    issued = dataverse_sandbox.state.tokens[token]
    assert issued.resource == dataverse_sandbox.url
    assert issued.client_id == dataverse_sandbox.client_id


def test_revoked_token_is_refreshed_once_and_the_call_retried(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_client.entity_attributes("contact")
    assert dataverse_sandbox.state.revoke_all_tokens() == 1

    attributes = dataverse_client.entity_attributes("lead")

    assert {a.entity for a in attributes} == {"lead"}
    counters = dataverse_sandbox.state.counters
    assert counters.count("POST", TOKEN_TEMPLATE) == 2
    assert [c.status for c in counters.calls("GET", ATTRIBUTES_TEMPLATE)] == [200, 401, 200]


def test_token_expired_on_the_server_is_refreshed(
    dataverse_sandbox: DataverseSandbox,
    dataverse_client: DataverseClient,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_client.entity_attributes("contact")
    sandbox_clock.advance(dataverse_sandbox.state.token_lifetime_seconds + 1)

    dataverse_client.entity_attributes("contact")

    assert dataverse_sandbox.state.counters.count("POST", TOKEN_TEMPLATE) == 2


def test_short_lived_tokens_are_not_reused(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    # msal treats a token with under 5 minutes left as expired, so it asks again each time.
    dataverse_sandbox.state.token_lifetime_seconds = 120
    dataverse_client.entity_attributes("contact")
    dataverse_client.entity_attributes("contact")
    assert dataverse_sandbox.state.counters.count("POST", TOKEN_TEMPLATE) == 2


def test_token_rejected_again_after_refresh_is_an_authentication_error(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.reject_all_tokens = True

    with pytest.raises(AuthenticationError, match="even after a refresh"):
        dataverse_client.entity_attributes("contact")

    counters = dataverse_sandbox.state.counters
    assert counters.count("POST", TOKEN_TEMPLATE) == 2  # the first token and one refresh
    assert counters.count("GET", ATTRIBUTES_TEMPLATE, status=401) == 2


def test_wrong_secret_is_an_authentication_error_without_the_secret(
    dataverse_sandbox: DataverseSandbox, dataverse_http: httpx.Client, retry_policy: RetryPolicy
) -> None:
    wrong = "not-the-demo-secret-123"
    client = DataverseClient(
        dataverse_sandbox.org_url,
        _provider(dataverse_sandbox, dataverse_http, secret=wrong),
        http=dataverse_http,
        retry=retry_policy,
    )

    with pytest.raises(AuthenticationError) as caught:
        client.entity_attributes("contact")

    message = str(caught.value)
    assert "AADSTS7000215" in message
    assert "Invalid client secret provided" in message
    assert "Trace ID" not in message
    assert wrong not in message
    assert dataverse_sandbox.state.counters.count("GET", ATTRIBUTES_TEMPLATE) == 0


def test_unknown_tenant_is_an_authentication_error(
    dataverse_sandbox: DataverseSandbox, dataverse_http: httpx.Client
) -> None:
    provider = _provider(
        dataverse_sandbox, dataverse_http, tenant_id="99999999-0000-4000-8000-000000000000"
    )
    with pytest.raises(AuthenticationError, match="AADSTS90002"):
        provider.token()


def test_app_without_an_application_user_gets_an_api_error(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.application_users.clear()
    with pytest.raises(ApiError) as caught:
        dataverse_client.entity_attributes("contact")
    assert caught.value.status == 403
    assert caught.value.code == "0x80072560"


def test_client_sends_the_documented_headers(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_client.entity_attributes("account")

    (call,) = dataverse_sandbox.state.counters.calls("GET", ATTRIBUTES_TEMPLATE)
    assert call.headers["accept"] == "application/json"
    assert call.headers["odata-maxversion"] == "4.0"
    assert call.headers["odata-version"] == "4.0"
    assert call.headers["authorization"] == "Bearer <redacted>"
    assert call.path == "/api/data/v9.2/EntityDefinitions(LogicalName='account')/Attributes"
    assert "select=LogicalName%2CAttributeType%2CDisplayName" in call.query


def test_from_settings_reads_the_dataverse_settings(
    dataverse_sandbox: DataverseSandbox, retry_policy: RetryPolicy
) -> None:
    settings = Settings(
        DATAVERSE_URL=dataverse_sandbox.url,
        DATAVERSE_TENANT_ID=dataverse_sandbox.tenant_id,
        DATAVERSE_CLIENT_ID=dataverse_sandbox.client_id,
        DATAVERSE_CLIENT_SECRET=dataverse_sandbox.client_secret.get_secret_value(),
        DATAVERSE_AUTHORITY_HOST=dataverse_sandbox.url,
        HTTP_CA_BUNDLE=str(dataverse_sandbox.ca_path),
    )
    with DataverseClient.from_settings(settings, retry=retry_policy) as client:
        names = {a.logical_name for a in client.entity_attributes("contact")}
    assert {"firstname", "emailaddress1"} <= names


def test_from_settings_names_every_missing_setting() -> None:
    with pytest.raises(ConfigurationError) as caught:
        DataverseClient.from_settings(Settings(DATAVERSE_URL="https://org.crm4.dynamics.com"))
    message = str(caught.value)
    for name in ("DATAVERSE_TENANT_ID", "DATAVERSE_CLIENT_ID", "DATAVERSE_CLIENT_SECRET"):
        assert name in message
    assert "DATAVERSE_URL" not in message
