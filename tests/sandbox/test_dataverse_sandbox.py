"""The Dataverse sandbox speaks the documented protocol: raw HTTP, no product client."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.dataverse import ATTRIBUTES_TEMPLATE
from tests.fixtures.sandboxes import DataverseSandbox

# Recorded from Microsoft's docs (powerapps-docs, developer/data-platform/webapi/
# query-metadata-web-api.md, "Querying the EntityMetadata entity type"): the DisplayName Label
# of the account table, and an empty Label as the same page shows for a Description.
RECORDED_LABEL: dict[str, Any] = {
    "LocalizedLabels": [
        {
            "Label": "Account",
            "LanguageCode": 1033,
            "IsManaged": True,
            "MetadataId": "2a4901bf-2241-db11-898a-0007e9e17ebd",
            "HasChanged": None,
        }
    ],
    "UserLocalizedLabel": {
        "Label": "Account",
        "LanguageCode": 1033,
        "IsManaged": True,
        "MetadataId": "2a4901bf-2241-db11-898a-0007e9e17ebd",
        "HasChanged": None,
    },
}
RECORDED_EMPTY_LABEL: dict[str, Any] = {"LocalizedLabels": [], "UserLocalizedLabel": None}
SELECT = "LogicalName,AttributeType,DisplayName"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture
def http(dataverse_sandbox: DataverseSandbox) -> Iterator[httpx.Client]:
    with dataverse_sandbox.http_client() as client:
        yield client


def get_token(
    sandbox: DataverseSandbox, http: httpx.Client, *, scope: str | None = None
) -> httpx.Response:
    return http.post(
        f"{sandbox.url}/{sandbox.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret.get_secret_value(),
            "scope": scope or f"{sandbox.url}/.default",
        },
    )


@pytest.fixture
def token(dataverse_sandbox: DataverseSandbox, http: httpx.Client) -> str:
    response = get_token(dataverse_sandbox, http)
    assert response.status_code == 200
    return str(response.json()["access_token"])


def attributes_url(sandbox: DataverseSandbox, entity: str) -> str:
    return f"{sandbox.url}/api/data/v9.2/EntityDefinitions(LogicalName='{entity}')/Attributes"


def test_metadata_response_matches_the_documented_shape(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    response = http.get(
        attributes_url(dataverse_sandbox, "account"),
        params={"$select": SELECT},
        headers={"Authorization": f"Bearer {token}", "OData-MaxVersion": "4.0"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    assert set(body) == {"@odata.context", "value"}  # no paging on metadata
    assert body["@odata.context"] == (
        f"{dataverse_sandbox.url}/api/data/v9.2/$metadata#EntityDefinitions('account')"
        f"/Attributes({SELECT})"
    )
    assert body["value"]
    for item in body["value"]:
        assert set(item) == {
            "@odata.type",
            "LogicalName",
            "AttributeType",
            "DisplayName",
            "MetadataId",
        }
        assert item["@odata.type"].startswith("#Microsoft.Dynamics.CRM.")
        assert item["@odata.type"].endswith("AttributeMetadata")
        assert isinstance(item["LogicalName"], str)
        assert isinstance(item["AttributeType"], str)
        assert GUID.match(item["MetadataId"])
        label = item["DisplayName"]
        if label["LocalizedLabels"]:
            assert shape(label) == shape(RECORDED_LABEL)
            assert label["UserLocalizedLabel"] == label["LocalizedLabels"][0]
            assert GUID.match(label["LocalizedLabels"][0]["MetadataId"])
        else:
            assert label == RECORDED_EMPTY_LABEL

    by_name = {item["LogicalName"]: item for item in body["value"]}
    account_id = by_name["accountid"]["DisplayName"]
    assert account_id["UserLocalizedLabel"]["Label"] == "Account"
    assert account_id["UserLocalizedLabel"]["LanguageCode"] == 1033
    assert by_name["primarycontactidname"]["DisplayName"] == RECORDED_EMPTY_LABEL
    assert by_name["revenue"]["@odata.type"] == "#Microsoft.Dynamics.CRM.MoneyAttributeMetadata"


def test_metadata_ids_are_deterministic(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    def ids() -> list[str]:
        response = http.get(
            attributes_url(dataverse_sandbox, "contact"),
            params={"$select": "LogicalName"},
            headers={"Authorization": f"Bearer {token}"},
        )
        return [item["MetadataId"] for item in response.json()["value"]]

    first = ids()
    dataverse_sandbox.state.reset(clock=dataverse_sandbox.state.clock)
    dataverse_sandbox.state.tokens.clear()
    again = get_token(dataverse_sandbox, http).json()["access_token"]
    response = http.get(
        attributes_url(dataverse_sandbox, "contact"),
        params={"$select": "LogicalName"},
        headers={"Authorization": f"Bearer {again}"},
    )
    assert [item["MetadataId"] for item in response.json()["value"]] == first
    assert all(uuid.UUID(value).version == 5 for value in first)


def test_select_limits_the_properties(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    response = http.get(
        attributes_url(dataverse_sandbox, "lead"),
        params={"$select": "LogicalName"},
        headers={"Authorization": f"Bearer {token}"},
    )
    item = response.json()["value"][0]
    assert set(item) == {"@odata.type", "LogicalName", "MetadataId"}


def test_unknown_select_property_is_a_400(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    response = http.get(
        attributes_url(dataverse_sandbox, "lead"),
        params={"$select": "LogicalName,Nonsense"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "0x0",
            "message": "Could not find a property named 'Nonsense' on type "
            "'Microsoft.Dynamics.CRM.AttributeMetadata'.",
        }
    }


def test_unknown_entity_is_a_404_in_the_error_shape(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    response = http.get(
        attributes_url(dataverse_sandbox, "nosuchtable"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert "nosuchtable" in error["message"]


def test_wrong_entity_set_segment_is_the_documented_404(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    response = http.get(
        f"{dataverse_sandbox.url}/api/data/v9.2/Account",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "0x8006088a", "message": "Resource not found for the segment 'Account'."}
    }


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
def test_web_api_requires_a_bearer_token(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = http.get(attributes_url(dataverse_sandbox, "contact"), headers=headers)

    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == ""
    assert body["error"]["message"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(
        f"Bearer authorization_uri={dataverse_sandbox.url}/{dataverse_sandbox.tenant_id}/"
    )
    calls = dataverse_sandbox.state.counters.calls("GET", ATTRIBUTES_TEMPLATE)
    assert [c.status for c in calls] == [401]


def test_token_for_another_resource_is_refused(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client
) -> None:
    other = get_token(dataverse_sandbox, http, scope="https://other.crm4.dynamics.com/.default")
    assert other.status_code == 200

    response = http.get(
        attributes_url(dataverse_sandbox, "contact"),
        headers={"Authorization": f"Bearer {other.json()['access_token']}"},
    )

    assert response.status_code == 401


def test_openid_configuration_points_at_the_sandbox(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client
) -> None:
    base = f"{dataverse_sandbox.url}/{dataverse_sandbox.tenant_id}"
    response = http.get(f"{base}/v2.0/.well-known/openid-configuration")

    assert response.status_code == 200
    config = response.json()
    assert config["issuer"] == f"{base}/v2.0"
    assert config["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"


def test_token_response_shape_and_configurable_lifetime(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client
) -> None:
    dataverse_sandbox.state.token_lifetime_seconds = 90
    response = get_token(dataverse_sandbox, http)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 90
    issued = dataverse_sandbox.state.tokens[body["access_token"]]
    assert issued.expires_at == dataverse_sandbox.state.now() + 90


def test_client_secret_basic_is_accepted(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client
) -> None:
    response = http.post(
        f"{dataverse_sandbox.url}/{dataverse_sandbox.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": f"{dataverse_sandbox.url}/.default"},
        auth=(dataverse_sandbox.client_id, dataverse_sandbox.client_secret.get_secret_value()),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_secret": ""}, 401, "invalid_client", 7000218),
        ({"client_id": "11111111-0000-4000-8000-000000000000"}, 400, "unauthorized_client", 700016),
        ({"scope": "https://org.example/user_impersonation"}, 400, "invalid_scope", 1002012),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    ],
)
def test_token_endpoint_errors_are_aadsts_shaped(
    dataverse_sandbox: DataverseSandbox,
    http: httpx.Client,
    change: dict[str, str],
    status: int,
    error: str,
    code: int,
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": dataverse_sandbox.client_id,
        "client_secret": dataverse_sandbox.client_secret.get_secret_value(),
        "scope": f"{dataverse_sandbox.url}/.default",
        **change,
    }
    response = http.post(
        f"{dataverse_sandbox.url}/{dataverse_sandbox.tenant_id}/oauth2/v2.0/token", data=form
    )

    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "\r\nTrace ID: " in body["error_description"]
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


def test_service_protection_429_is_the_documented_one(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    dataverse_sandbox.state.set_request_budget(1, window_seconds=300)
    headers = {"Authorization": f"Bearer {token}"}
    url = attributes_url(dataverse_sandbox, "contact")

    assert http.get(url, headers=headers).status_code == 200
    response = http.get(url, headers=headers)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "300"
    assert response.json() == {
        "error": {
            "code": "0x80072322",
            "message": "Number of requests exceeded the limit of 6000 over time window of 300 "
            "seconds.",
        }
    }


def test_seeded_throttling_is_the_documented_execution_time_429(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    dataverse_sandbox.state.faults.set_throttle(1.0, seconds=7)

    response = http.get(
        attributes_url(dataverse_sandbox, "contact"), headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    error = response.json()["error"]
    assert error["code"] == "0x80072321"  # api-limits.md: combined execution time
    assert error["message"].startswith(
        "Combined execution time of incoming requests exceeded limit of 1,200,000"
    )


def test_faults_hit_the_web_api_not_the_identity_endpoints(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client
) -> None:
    dataverse_sandbox.state.faults.set_error_rate(503, 1.0)

    token = get_token(dataverse_sandbox, http)
    assert token.status_code == 200
    response = http.get(
        attributes_url(dataverse_sandbox, "contact"),
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert response.status_code == 503
    assert set(response.json()["error"]) == {"code", "message"}


def test_dropped_connection_gets_no_response(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    dataverse_sandbox.state.faults.drop_next()
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(
            attributes_url(dataverse_sandbox, "contact"),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert dataverse_sandbox.state.counters.calls("GET", ATTRIBUTES_TEMPLATE)[0].status == 0


def test_counters_group_calls_by_route_template(
    dataverse_sandbox: DataverseSandbox, http: httpx.Client, token: str
) -> None:
    for entity in ("contact", "lead"):
        http.get(
            attributes_url(dataverse_sandbox, entity), headers={"Authorization": f"Bearer {token}"}
        )

    routes = dataverse_sandbox.state.counters.by_route()
    assert routes[("GET", ATTRIBUTES_TEMPLATE)] == 2
    assert routes[("POST", "/{tenant}/oauth2/v2.0/token")] == 1
    dataverse_sandbox.state.counters.reset()
    assert dataverse_sandbox.state.counters.total() == 0
