"""Dotdigital client: region discovery, data fields and error mapping, over real HTTP.

Every exchange in this module is validated against Dotdigital's OpenAPI descriptions (the
`dotdigital_http` override below), except where a test sends what the spec forbids on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from sandbox.dotdigital import ACCOUNT_INFO, DATA_FIELDS, RESERVED_FIELDS
from shared.clients import DataField, DotdigitalClient, RetryPolicy, error_code
from shared.errors import ApiError, AuthenticationError
from tests.fixtures.sandboxes import CLIENT_TIMEOUT_SECONDS, DotdigitalSandbox


@pytest.fixture
def dotdigital_http(validated_dotdigital_http: httpx.Client) -> httpx.Client:
    return validated_dotdigital_http


@pytest.fixture
def unvalidated_client(
    dotdigital_sandbox: DotdigitalSandbox, retry_policy: RetryPolicy
) -> Iterator[DotdigitalClient]:
    """For requests that break the spec on purpose (to see the service refuse them)."""
    with httpx.Client(timeout=CLIENT_TIMEOUT_SECONDS) as http:
        yield DotdigitalClient.connect(
            dotdigital_sandbox.url,
            dotdigital_sandbox.api_user,
            dotdigital_sandbox.password,
            http=http,
            retry=retry_policy,
        )


def test_connect_discovers_the_region_and_uses_it(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    assert dotdigital_client.api_endpoint == dotdigital_sandbox.api_endpoint  # "/" stripped
    assert dotdigital_client.api_endpoint != dotdigital_sandbox.url

    dotdigital_client.list_data_fields()
    dotdigital_client.create_data_field("LOYALTY_TIER", "String")

    counters = dotdigital_sandbox.state.counters
    discovery_host = urlsplit(dotdigital_sandbox.url).netloc
    region_host = urlsplit(dotdigital_sandbox.api_endpoint).netloc
    assert counters.count("GET", ACCOUNT_INFO, host=discovery_host) == 1
    assert counters.count(host=discovery_host) == 1  # nothing else went to discovery
    assert counters.count("GET", DATA_FIELDS, host=region_host, status=200) == 1
    assert counters.count("POST", DATA_FIELDS, host=region_host, status=201) == 1
    assert counters.count(status=403) == 0


def test_account_properties_are_kept(dotdigital_client: DotdigitalClient) -> None:
    properties = dotdigital_client.account_properties
    assert properties["ApiEndpoint"].endswith("/")
    assert properties["MainEmail"] == "marketing@example.invalid"
    assert int(properties["ApiCallsRemaining"]) == 2000 - int(properties["ApiCallsInLastHour"])


def test_calling_the_discovery_host_for_data_is_refused(
    dotdigital_sandbox: DotdigitalSandbox, dotdigital_http: httpx.Client, retry_policy: RetryPolicy
) -> None:
    wrong_region = DotdigitalClient(
        dotdigital_sandbox.url,
        dotdigital_sandbox.api_user,
        dotdigital_sandbox.password,
        http=dotdigital_http,
        retry=retry_policy,
    )
    with pytest.raises(ApiError) as caught:
        wrong_region.list_data_fields()
    assert caught.value.status == 403


def test_wrong_password_is_an_authentication_error(
    dotdigital_sandbox: DotdigitalSandbox, dotdigital_http: httpx.Client, retry_policy: RetryPolicy
) -> None:
    wrong = "wrong-password-9"
    with pytest.raises(AuthenticationError) as caught:
        DotdigitalClient.connect(
            dotdigital_sandbox.url,
            dotdigital_sandbox.api_user,
            SecretStr(wrong),
            http=dotdigital_http,
            retry=retry_policy,
        )
    message = str(caught.value)
    assert "Authorization has been denied for this request." in message
    assert wrong not in message
    assert dotdigital_sandbox.state.counters.count("GET", ACCOUNT_INFO, status=401) == 1


def test_list_data_fields_returns_the_reserved_fields(dotdigital_client: DotdigitalClient) -> None:
    fields = dotdigital_client.list_data_fields()
    assert [(f.name, f.type) for f in fields] == list(RESERVED_FIELDS)
    assert fields[0] == DataField(
        name="FIRSTNAME", type="String", visibility="Public", default_value=None
    )


def test_create_data_field_then_list_it(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    created = dotdigital_client.create_data_field("CRM_SCORE", "Numeric", default_value=0)
    birthday = dotdigital_client.create_data_field("BIRTHDAY", "Date", visibility="Public")

    assert created == DataField(
        name="CRM_SCORE", type="Numeric", visibility="Private", default_value=0
    )
    assert birthday.visibility == "Public"
    assert birthday.default_value is None
    names = [f.name for f in dotdigital_client.list_data_fields()]
    assert names[-2:] == ["CRM_SCORE", "BIRTHDAY"]
    (request,) = dotdigital_sandbox.state.counters.calls("POST", DATA_FIELDS)[:1]
    assert request.headers["authorization"] == "Basic <redacted>"


@pytest.mark.parametrize("name", ["FIRSTNAME", "firstname", "FirstName"])
def test_duplicate_data_field_is_non_unique(dotdigital_client: DotdigitalClient, name: str) -> None:
    with pytest.raises(ApiError) as caught:
        dotdigital_client.create_data_field(name, "String")
    assert caught.value.status == 400
    assert caught.value.code == "ERROR_NON_UNIQUE_DATAFIELD"
    assert "Field already exists." in str(caught.value)


@pytest.mark.parametrize(
    ("name", "kind", "extra"),
    [
        ("THIS_NAME_IS_TOO_LONG_", "String", {}),
        ("HAS SPACE", "String", {}),
        ("DOT.TED", "String", {}),
        ("", "String", {}),
        ("GOOD_NAME", "Text", {}),
        ("GOOD_NAME", "String", {"visibility": "Hidden"}),
        ("GOOD_NAME", "Numeric", {"default_value": "many"}),
        ("GOOD_NAME", "Date", {"default_value": "not a date"}),
    ],
)
def test_invalid_data_field_is_rejected(
    unvalidated_client: DotdigitalClient,
    dotdigital_sandbox: DotdigitalSandbox,
    name: str,
    kind: str,
    extra: dict[str, str],
) -> None:
    with pytest.raises(ApiError) as caught:
        unvalidated_client.create_data_field(name, kind, **extra)
    assert caught.value.status == 400
    assert caught.value.code == "ERROR_DATAFIELD_INVALID"
    assert dotdigital_sandbox.state.custom_field_count() == 0


def test_data_field_limit(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dotdigital_sandbox.state.custom_field_limit = 2
    dotdigital_client.create_data_field("ONE", "String")
    dotdigital_client.create_data_field("TWO", "Boolean", default_value=False)

    with pytest.raises(ApiError) as caught:
        dotdigital_client.create_data_field("THREE", "String")

    assert caught.value.code == "ERROR_DATAFIELD_LIMITEXCEEDED"
    assert dotdigital_sandbox.state.custom_field_count() == 2


def test_default_custom_field_limit_is_394(dotdigital_sandbox: DotdigitalSandbox) -> None:
    assert dotdigital_sandbox.state.custom_field_limit == 394


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Field already exists. ERROR_NON_UNIQUE_DATAFIELD", "ERROR_NON_UNIQUE_DATAFIELD"),
        ("Error: ERROR_ADDRESSBOOK_NOT_FOUND", "ERROR_ADDRESSBOOK_NOT_FOUND"),
        (
            "Address book cannot be written to via the API. ERROR_ADDRESSBOOK_NOTWRITABLE",
            "ERROR_ADDRESSBOOK_NOTWRITABLE",
        ),
        ("Authorization has been denied for this request.", None),
        ("ERROR_X appears mid-sentence, not at the end", None),
    ],
)
def test_error_code_is_the_trailing_token(message: str, code: str | None) -> None:
    assert error_code(message) == code


def test_create_after_a_lost_answer_returns_the_field_it_created(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dotdigital_sandbox.state.faults.lose_response_next()

    field = dotdigital_client.create_data_field("LOST_ANSWER", "String")

    assert field.name == "LOST_ANSWER"
    statuses = [c.status for c in dotdigital_sandbox.state.counters.calls("POST", DATA_FIELDS)]
    assert statuses == [0, 400]  # created but unanswered; the retry found it already there
    assert dotdigital_sandbox.state.custom_field_count() == 1


def test_existing_field_is_still_an_error_when_nothing_was_lost(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dotdigital_sandbox.state.faults.fail_next(503)  # answered: the first attempt did nothing
    with pytest.raises(ApiError, match="ERROR_NON_UNIQUE_DATAFIELD"):
        dotdigital_client.create_data_field("LASTNAME", "String")
