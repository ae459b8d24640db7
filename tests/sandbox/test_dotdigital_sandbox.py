"""The Dotdigital sandbox follows the v2 spec: raw HTTP, no product client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.clock import ManualClock
from tests.fixtures.sandboxes import DotdigitalSandbox

# From Dotdigital's v2 OpenAPI (dotdigital-v2-api-swagger.json): ApiAccount {id, properties:
# [ApiAccountProperty {name, type, value}]}; ApiDataField {name, type: ApiDataTypes,
# visibility: ApiDataFieldVisibility, defaultValue}.
DATA_FIELD_KEYS = {"name", "type", "visibility", "defaultValue"}
DATA_TYPES = {"String", "Numeric", "Date", "Boolean"}
VISIBILITIES = {"Private", "Public"}


@pytest.fixture
def http(dotdigital_sandbox: DotdigitalSandbox) -> Iterator[httpx.Client]:
    auth = (dotdigital_sandbox.api_user, dotdigital_sandbox.password.get_secret_value())
    with httpx.Client(auth=auth, base_url=dotdigital_sandbox.api_endpoint) as client:
        yield client


def test_account_info_reports_the_region_with_a_trailing_slash(
    dotdigital_sandbox: DotdigitalSandbox, http: httpx.Client
) -> None:
    response = http.get(f"{dotdigital_sandbox.url}/v2/account-info")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "properties"}
    assert isinstance(body["id"], int)
    properties = {}
    for prop in body["properties"]:
        assert set(prop) == {"name", "type", "value"}
        assert all(isinstance(value, str) for value in prop.values())
        properties[prop["name"]] = prop["value"]
    assert properties["ApiEndpoint"] == dotdigital_sandbox.api_endpoint + "/"
    assert {"MainEmail", "ApiCallsInLastHour", "ApiCallsRemaining"} <= set(properties)


def test_missing_or_wrong_credentials_are_denied(dotdigital_sandbox: DotdigitalSandbox) -> None:
    with httpx.Client(base_url=dotdigital_sandbox.api_endpoint) as anonymous:
        for auth in (None, (dotdigital_sandbox.api_user, "nope")):
            response = anonymous.get("/v2/data-fields", auth=auth)
            assert response.status_code == 401
            assert response.json() == {"message": "Authorization has been denied for this request."}


def test_data_fields_follow_the_schema(http: httpx.Client) -> None:
    response = http.get("/v2/data-fields")

    assert response.status_code == 200
    for item in response.json():
        assert set(item) == DATA_FIELD_KEYS
        assert item["type"] in DATA_TYPES
        assert item["visibility"] in VISIBILITIES


@pytest.mark.parametrize(
    "body",
    [
        {"name": "BIRTHDAY", "type": "Date", "visibility": "Public", "defaultValue": None},
        {"Name": "BIRTHDAY", "Type": "Date", "Visibility": "Public", "DefaultValue": None},
    ],
)
def test_create_accepts_camel_and_pascal_case(
    dotdigital_sandbox: DotdigitalSandbox, http: httpx.Client, body: dict[str, object]
) -> None:
    response = http.post("/v2/data-fields", json=body)

    assert response.status_code == 201
    assert response.json() == {
        "name": "BIRTHDAY",
        "type": "Date",
        "visibility": "Public",
        "defaultValue": None,
    }
    assert dotdigital_sandbox.state.field("birthday") is not None


def test_create_defaults_to_private(http: httpx.Client) -> None:
    response = http.post("/v2/data-fields", json={"name": "SCORE", "type": "Numeric"})
    assert response.json()["visibility"] == "Private"


def test_data_errors_use_the_v2_envelope(http: httpx.Client) -> None:
    duplicate = http.post("/v2/data-fields", json={"name": "postcode", "type": "String"})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"message": "Field already exists. ERROR_NON_UNIQUE_DATAFIELD"}

    invalid = http.post("/v2/data-fields", json={"name": "x" * 21, "type": "String"})
    assert invalid.status_code == 400
    assert invalid.json()["message"].endswith(" ERROR_DATAFIELD_INVALID")

    not_json = http.post(
        "/v2/data-fields", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.json()["message"].endswith(" ERROR_DATAFIELD_INVALID")


def test_limit_counts_custom_fields_only(
    dotdigital_sandbox: DotdigitalSandbox, http: httpx.Client
) -> None:
    dotdigital_sandbox.state.custom_field_limit = 1
    assert http.post("/v2/data-fields", json={"name": "A1", "type": "String"}).status_code == 201
    response = http.post("/v2/data-fields", json={"name": "A2", "type": "String"})
    assert response.status_code == 400
    assert response.json()["message"].endswith(" ERROR_DATAFIELD_LIMITEXCEEDED")


def test_wrong_region_is_forbidden(
    dotdigital_sandbox: DotdigitalSandbox, http: httpx.Client
) -> None:
    response = http.get(f"{dotdigital_sandbox.url}/v2/data-fields")
    assert response.status_code == 403


def test_rate_limit_answers_429_with_the_ratelimit_headers(
    dotdigital_sandbox: DotdigitalSandbox, http: httpx.Client, sandbox_clock: ManualClock
) -> None:
    dotdigital_sandbox.state.set_rate_limit(1, window_seconds=60)

    assert http.get("/v2/data-fields").status_code == 200
    response = http.get("/v2/data-fields")

    assert response.status_code == 429
    assert response.headers["x-ratelimit-limit"] == "1"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) == int(sandbox_clock.now()) + 60
    assert response.headers["x-ratelimit-scope"] == "account"
    assert "message" in response.json()

    sandbox_clock.advance(60)
    assert http.get("/v2/data-fields").status_code == 200


def test_legacy_switch_answers_apiusage_exceeded(
    dotdigital_sandbox: DotdigitalSandbox, http: httpx.Client
) -> None:
    dotdigital_sandbox.state.legacy_rate_limit = True
    dotdigital_sandbox.state.set_rate_limit(0)

    response = http.get("/v2/data-fields")

    assert response.status_code == 400
    assert response.json()["message"].endswith(" ERROR_APIUSAGE_EXCEEDED")
    assert "x-ratelimit-reset" not in response.headers


def test_unknown_route_is_a_v2_404(http: httpx.Client) -> None:
    response = http.get("/v2/nothing-here")
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


def test_injected_server_errors_use_the_v2_envelope(
    dotdigital_sandbox: DotdigitalSandbox, http: httpx.Client
) -> None:
    dotdigital_sandbox.state.faults.fail_next(500)
    response = http.get("/v2/data-fields")
    assert response.status_code == 500
    assert set(response.json()) == {"message"}
