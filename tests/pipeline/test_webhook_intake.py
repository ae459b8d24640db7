"""The webhook endpoint's answers: 202 for every accepted post, 4xx with one line for the rest,
503 when storage fails; the recorder sees only valid posts of known organizations."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError

from shared.azure_errors import StorageUnreachable
from shared.pipeline.webhook_events import RecordOutcome
from shared.pipeline.webhook_intake import WebhookRequest, receive
from shared.runtime import Runtime
from shared.settings import Settings
from tests.fixtures.runtime import ManualClock
from tests.pipeline.webhook_helpers import (
    KEY,
    RecordingRecorder,
    recorder,
    register,
    webhook_runtime,
    webhook_settings,
)
from tests.webhooks import bodies

__all__ = ["recorder", "webhook_runtime"]  # fixtures


def _post(
    body: bytes | dict[str, Any] | None = None,
    *,
    query: dict[str, str] | None = None,
    method: str = "POST",
    **header_options: Any,
) -> WebhookRequest:
    data = bodies.update() if body is None else body
    raw = data if isinstance(data, bytes) else bodies.encode(data)
    return WebhookRequest(
        method, raw, bodies.headers(**header_options), {"code": KEY} if query is None else query
    )


@pytest.mark.parametrize("message", list(bodies.VARIANTS))
def test_each_message_is_recorded_and_answered_202(
    webhook_runtime: Runtime, recorder: RecordingRecorder, message: str
) -> None:
    answer = receive(webhook_runtime, _post(bodies.VARIANTS[message]()), recorder=recorder)

    assert answer.status == 202
    [event] = recorder.events
    assert event.message == message
    assert answer.body == {"status": "recorded", "event": event.key}
    assert answer.media_type == "application/json"


@pytest.mark.parametrize("outcome", list(RecordOutcome))
def test_every_outcome_of_the_recorder_is_a_202(
    webhook_runtime: Runtime, outcome: RecordOutcome
) -> None:
    answer = receive(webhook_runtime, _post(), recorder=RecordingRecorder(outcome=outcome))

    assert (answer.status, answer.body["status"]) == (202, outcome.value)


def test_an_oversized_post_is_recorded_with_its_flag(
    webhook_runtime: Runtime, recorder: RecordingRecorder
) -> None:
    body = bodies.oversized(bodies.update())

    answer = receive(webhook_runtime, _post(body, size_exceeded=True), recorder=recorder)

    assert answer.status == 202
    assert recorder.events[0].size_exceeded


def test_the_key_may_come_in_the_header(
    webhook_runtime: Runtime, recorder: RecordingRecorder
) -> None:
    request = _post(query={})
    request = WebhookRequest("POST", request.body, {**request.headers, "X-Functions-Key": KEY})

    assert receive(webhook_runtime, request, recorder=recorder).status == 202


def _refused(rt: Runtime, request: WebhookRequest, recorder: RecordingRecorder) -> tuple[int, str]:
    answer = receive(rt, request, recorder=recorder)
    assert recorder.events == []
    assert answer.media_type == "application/problem+json"
    assert set(answer.body) == {"type", "title", "status", "detail"}
    assert answer.body["status"] == answer.status
    assert "\n" not in answer.body["detail"]
    return answer.status, answer.body["detail"]


@pytest.mark.parametrize(
    ("query", "headers", "detail"),
    [
        ({}, {}, "no key was sent"),
        ({"code": "wrong"}, {}, "the key does not match"),
        ({}, {"x-functions-key": "wrong"}, "the key does not match"),
    ],
)
def test_a_missing_or_wrong_key_is_401(
    webhook_runtime: Runtime,
    recorder: RecordingRecorder,
    query: dict[str, str],
    headers: dict[str, str],
    detail: str,
) -> None:
    request = _post(query=query)
    request = WebhookRequest("POST", request.body, {**request.headers, **headers}, query)

    status, said = _refused(webhook_runtime, request, recorder)

    assert status == 401 and detail in said


def test_an_app_without_a_key_says_so(
    settings: Settings, clock: ManualClock, recorder: RecordingRecorder
) -> None:
    rt = Runtime(webhook_settings(settings, key=None), clock=clock)
    register(rt)

    status, said = _refused(rt, _post(query={"code": ""}), recorder)

    assert status == 401 and "no webhook key configured (DYNAMICS_WEBHOOK_KEY)" in said


def test_an_unknown_organization_is_403_before_its_body_is_read(
    webhook_runtime: Runtime, recorder: RecordingRecorder
) -> None:
    status, said = _refused(webhook_runtime, _post(b"not json", domain="evil.example"), recorder)
    assert status == 403 and "'evil.example' is not registered" in said

    request = _post()
    request = WebhookRequest("POST", request.body, {}, request.query)
    assert _refused(webhook_runtime, request, recorder) == (
        403, "The x-ms-dynamics-organization header is missing."
    )  # fmt: skip


def test_a_body_of_another_organization_is_403(
    webhook_runtime: Runtime, recorder: RecordingRecorder
) -> None:
    body = bodies.update()
    body["OrganizationId"] = "11111111-2222-4333-8444-555555555555"

    status, said = _refused(webhook_runtime, _post(body), recorder)

    assert status == 403 and "OrganizationId is not the one registered" in said


def test_the_organization_header_is_matched_without_case(
    webhook_runtime: Runtime, recorder: RecordingRecorder
) -> None:
    answer = receive(webhook_runtime, _post(domain="CONTOSO.crm.Dynamics.com"), recorder=recorder)

    assert answer.status == 202


def test_an_organization_registered_after_a_refusal_is_accepted_soon(
    webhook_runtime: Runtime, recorder: RecordingRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _refused(webhook_runtime, _post(domain="fabrikam.crm.dynamics.com"), recorder)[0] == 403
    register(webhook_runtime, domain="fabrikam.crm.dynamics.com")
    # The cache re-reads the table for an unknown organization after a short interval.
    monkeypatch.setattr("shared.pipeline.webhook_intake.MISS_REFRESH_SECONDS", 0.0)

    answer = receive(webhook_runtime, _post(domain="fabrikam.crm.dynamics.com"), recorder=recorder)

    assert answer.status == 202


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({"MessageName": "Update"}).encode(), "PrimaryEntityName: Field required"),
        (json.dumps({**bodies.update(), "MessageName": "Merge"}).encode(), "'Merge' is not a"),
        (json.dumps({**bodies.update(), "CorrelationId": "x"}).encode(), "CorrelationId"),
    ],
)
def test_a_body_that_is_not_a_context_is_400_with_one_line(
    webhook_runtime: Runtime, recorder: RecordingRecorder, body: bytes, detail: str
) -> None:
    status, said = _refused(webhook_runtime, _post(body), recorder)

    assert status == 400 and detail in said


def test_a_body_over_one_mebibyte_is_413_and_other_methods_405(
    webhook_runtime: Runtime, recorder: RecordingRecorder
) -> None:
    assert _refused(webhook_runtime, _post(b" " * (1024 * 1024 + 1)), recorder)[0] == 413
    answer = receive(webhook_runtime, _post(method="GET"), recorder=recorder)
    assert (answer.status, answer.headers["Allow"]) == (405, "POST")


@pytest.mark.parametrize(
    "error", [StorageUnreachable("Table Storage", "http://127.0.0.1:1"), ServiceRequestError("x")]
)
def test_a_storage_fault_is_503_with_retry_after(
    webhook_runtime: Runtime, error: Exception
) -> None:
    answer = receive(webhook_runtime, _post(), recorder=RecordingRecorder(fail_with=error))

    assert answer.status == 503
    assert int(answer.headers["Retry-After"]) > 0


def test_one_log_line_per_post_without_the_key_or_the_body_values(
    webhook_runtime: Runtime, recorder: RecordingRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="shared.pipeline.webhook_intake"):
        receive(webhook_runtime, _post(), recorder=recorder)
        receive(webhook_runtime, _post(query={"code": "wrong"}), recorder=recorder)

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "recorded: Update contact" in lines[0] and recorder.events[0].key in lines[0]
    assert "401" in lines[1]
    assert not any(KEY in line or "James" in line for line in lines)
