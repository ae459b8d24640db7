"""The local host serves the HTTP functions: a webhook posted over real HTTP reaches `receive`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.runtime import Runtime
from tests.pipeline.webhook_helpers import KEY, RecordingRecorder, recorder, webhook_runtime
from tests.webhooks import bodies

__all__ = ["recorder", "webhook_runtime"]  # fixtures

WEBHOOK = "/api/dynamics/webhook"


@pytest.fixture
def host(
    webhook_runtime: Runtime, recorder: RecordingRecorder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalHost]:
    # The recorder lands later in issue 11: the endpoint calls whatever record_event is.
    monkeypatch.setattr("shared.pipeline.webhook_events.record_event", recorder)
    local = build_host(webhook_runtime)
    local.serve_http()
    try:
        yield local
    finally:
        local.stop()


def test_a_webhook_posted_over_http_is_recorded_and_answered_202(
    host: LocalHost, recorder: RecordingRecorder
) -> None:
    answer = httpx.post(
        f"{host.base_url}{WEBHOOK}",
        params={"code": KEY},
        content=bodies.SAMPLE.read_bytes(),
        headers={**bodies.headers(), "Content-Type": "application/json"},
    )

    assert answer.status_code == 202
    assert answer.headers["content-type"].startswith("application/json")
    [event] = recorder.events
    assert answer.json() == {"status": "recorded", "event": event.key}
    assert (event.message, event.entity) == ("Update", "contact")


def test_refusals_come_back_as_problems_over_http(
    host: LocalHost, recorder: RecordingRecorder
) -> None:
    wrong_key = httpx.post(
        f"{host.base_url}{WEBHOOK}",
        headers={**bodies.headers(), "x-functions-key": "wrong"},
        content=bodies.SAMPLE.read_bytes(),
    )
    not_json = httpx.post(
        f"{host.base_url}{WEBHOOK}", params={"code": KEY}, headers=bodies.headers(), content=b"{"
    )

    assert wrong_key.status_code == 401
    assert wrong_key.headers["content-type"].startswith("application/problem+json")
    assert wrong_key.json()["detail"] == "Unauthorized: the key does not match."
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["detail"]
    assert recorder.events == []


def test_the_host_answers_only_the_routes_and_methods_the_functions_declare(
    host: LocalHost,
) -> None:
    assert httpx.get(f"{host.base_url}{WEBHOOK}").status_code == 405
    assert httpx.post(f"{host.base_url}/api/nothing-here").status_code == 404


def test_stop_stops_serving(host: LocalHost) -> None:
    url = host.base_url
    host.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{url}{WEBHOOK}")
