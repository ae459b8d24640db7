"""The admin API's OpenAPI document as a client generator or schemathesis reads it, served by
the function app: OpenAPI 3.1, valid, every route of the API present, and every error answer
documented as application/problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from shared.api.problems import MEDIA_TYPE

ROUTES = {
    ("get", "/api/admin/health"),
    ("get", "/api/admin/accounts"),
    ("post", "/api/admin/accounts"),
    ("get", "/api/admin/accounts/{accountId}"),
    ("patch", "/api/admin/accounts/{accountId}"),
    ("post", "/api/admin/accounts/{accountId}/disable"),
    ("post", "/api/admin/accounts/{accountId}/enable"),
    ("post", "/api/admin/accounts/{accountId}/test-connection"),
    ("get", "/api/admin/accounts/{accountId}/schedules"),
    ("put", "/api/admin/accounts/{accountId}/schedules/{syncType}"),
    ("put", "/api/admin/accounts/{accountId}/schedules/{syncType}/start"),
    ("post", "/api/admin/accounts/{accountId}/schedules/{syncType}/sync-now"),
    ("get", "/api/admin/accounts/{accountId}/audit"),
    ("get", "/api/admin/accounts/{accountId}/audit/{rowKey}"),
    ("get", "/api/admin/accounts/{accountId}/labels"),
    ("post", "/api/admin/accounts/{accountId}/labels"),
    ("delete", "/api/admin/accounts/{accountId}/labels/{name}"),
    ("get", "/api/admin/accounts/{accountId}/mappings"),
    ("post", "/api/admin/accounts/{accountId}/mappings"),
    ("delete", "/api/admin/accounts/{accountId}/mappings/{entity}/{label}"),
    ("get", "/api/admin/accounts/{accountId}/suppressions"),
    ("post", "/api/admin/accounts/{accountId}/suppressions/{suppressionId}/resubscribe"),
    ("get", "/api/admin/accounts/{accountId}/preferences/{record}"),
    ("get", "/api/admin/accounts/{accountId}/programs"),
    ("put", "/api/admin/accounts/{accountId}/programs/{programId}/allowed"),
    ("delete", "/api/admin/accounts/{accountId}/programs/{programId}/allowed"),
    ("put", "/api/admin/accounts/{accountId}/programs/mapped-users-only"),
    ("get", "/api/admin/accounts/{accountId}/user-mappings"),
    ("put", "/api/admin/accounts/{accountId}/user-mappings/{platformUserId}"),
    ("delete", "/api/admin/accounts/{accountId}/user-mappings/{platformUserId}"),
    ("get", "/api/admin/accounts/{accountId}/adobe"),
    ("get", "/api/admin/accounts/{accountId}/adobe/check"),
    ("post", "/api/admin/accounts/{accountId}/adobe/replay"),
    ("put", "/api/admin/accounts/{accountId}/adobe/tables/{table}"),
    ("patch", "/api/admin/accounts/{accountId}/adobe/tables/{table}"),
    ("delete", "/api/admin/accounts/{accountId}/adobe/tables/{table}"),
    ("post", "/api/admin/accounts/{accountId}/adobe/tables/{table}/fields"),
    ("patch", "/api/admin/accounts/{accountId}/adobe/tables/{table}/fields/{campaignField}"),
    ("delete", "/api/admin/accounts/{accountId}/adobe/tables/{table}/fields/{campaignField}"),
    ("post", "/api/admin/accounts/{accountId}/adobe/tables/{table}/replacements"),
    ("delete", "/api/admin/accounts/{accountId}/adobe/tables/{table}/replacements"),
    ("post", "/api/admin/accounts/{accountId}/adobe/tables/{table}/filter-rules"),
    ("delete", "/api/admin/accounts/{accountId}/adobe/tables/{table}/filter-rules/{number}"),
    ("patch", "/api/admin/accounts/{accountId}/adobe/opt-out"),
    ("patch", "/api/admin/accounts/{accountId}/adobe/egress"),
    ("get", "/api/admin/accounts/{accountId}/adobe/file-drop"),
    ("put", "/api/admin/accounts/{accountId}/adobe/file-drop"),
    ("delete", "/api/admin/accounts/{accountId}/adobe/file-drop"),
    ("delete", "/api/admin/accounts/{accountId}/adobe/file-drop/loads/{table}"),
    ("get", "/api/admin/dead-letters"),
    ("post", "/api/admin/dead-letters/replay"),
    ("post", "/api/admin/dead-letters/{letterId}/replay"),
    ("delete", "/api/admin/dead-letters/{letterId}"),
    ("get", "/api/admin/accounts/{accountId}/failed"),
    ("post", "/api/admin/accounts/{accountId}/failed/retry"),
    ("get", "/api/admin/accounts/{accountId}/reconciliation"),
    ("get", "/api/admin/accounts/{accountId}/contacts/{contactId}/timeline"),
    ("get", "/api/admin/accounts/{accountId}/leads/{leadId}/timeline"),
}


@pytest.fixture
def spec(api: httpx.Client) -> dict[str, Any]:
    answer = api.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def test_the_document_is_valid_openapi_3_1_with_every_route(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    validate(spec)  # raises with the first violation
    routes = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert routes == ROUTES


def test_every_error_answer_is_documented_as_problem_json(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
            assert {"422", "500"} <= set(errors), (method, path)
            if "{accountId}" in path:
                assert "404" in errors, (method, path)
            for status, response in errors.items():
                assert set(response["content"]) == {MEDIA_TYPE}, (method, path, status)
                schema = response["content"][MEDIA_TYPE]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_sync_now_documents_202_and_409(spec: dict[str, Any]) -> None:
    sync_now = spec["paths"]["/api/admin/accounts/{accountId}/schedules/{syncType}/sync-now"]
    assert {"202", "409"} <= set(sync_now["post"]["responses"])
    assert sync_now["post"]["parameters"][-1]["name"] == "dryRun"
