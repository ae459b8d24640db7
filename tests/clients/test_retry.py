"""The shared retry policy against both sandboxes: 429 storms, 5xx, timeouts, dropped
connections. Waits are recorded by `sandbox_clock` (never slept)."""

from __future__ import annotations

import random
from email.utils import formatdate

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.dataverse import ATTRIBUTES_TEMPLATE
from sandbox.dotdigital import DATA_FIELDS
from shared.clients import (
    DataverseClient,
    DotdigitalClient,
    MsalTokenProvider,
    RetryPolicy,
    server_requested_wait,
)
from shared.clients.retry import TransientHttpError
from shared.errors import RetriesExhausted
from tests.fixtures.sandboxes import (
    TEST_MAX_RETRIES,
    DataverseSandbox,
    DotdigitalSandbox,
)

ATTEMPTS = TEST_MAX_RETRIES + 1


# Dataverse ----------------------------------------------------------------------------------


def test_dataverse_429_storm_waits_what_retry_after_says(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.throttle_next(3, retry_after=2)

    assert dataverse_client.entity_attributes("contact")

    assert sandbox_clock.sleeps == [2.0, 2.0, 2.0]
    statuses = [
        c.status for c in dataverse_sandbox.state.counters.calls("GET", ATTRIBUTES_TEMPLATE)
    ]
    assert statuses == [429, 429, 429, 200]


def test_dataverse_retry_after_as_http_date(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.throttle_next(1, retry_after=7, as_http_date=True)

    dataverse_client.entity_attributes("contact")

    assert sandbox_clock.sleeps == [7.0]


def test_dataverse_request_budget_refills_after_the_window(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.set_request_budget(2, window_seconds=30)

    for _ in range(3):
        dataverse_client.entity_attributes("account")

    # The third call found the budget spent, waited out the window and went through.
    assert sandbox_clock.sleeps == [30.0]
    statuses = [
        c.status for c in dataverse_sandbox.state.counters.calls("GET", ATTRIBUTES_TEMPLATE)
    ]
    assert statuses == [200, 200, 429, 200]


def test_dataverse_retry_after_is_capped(
    dataverse_sandbox: DataverseSandbox,
    dataverse_http: httpx.Client,
    sandbox_clock: ManualClock,
) -> None:
    policy = RetryPolicy(
        max_retries=2, max_wait_seconds=10, sleep=sandbox_clock.sleep, clock=sandbox_clock.now
    )
    client = DataverseClient(
        dataverse_sandbox.org_url,
        MsalTokenProvider(
            dataverse_sandbox.tenant_id,
            dataverse_sandbox.client_id,
            dataverse_sandbox.client_secret,
            org_url=dataverse_sandbox.org_url,
            authority_host=dataverse_sandbox.authority_host,
            http_client=dataverse_http,
        ),
        http=dataverse_http,
        retry=policy,
    )
    dataverse_sandbox.state.throttle_next(1, retry_after=3600)

    client.entity_attributes("contact")

    assert sandbox_clock.sleeps == [10.0]


def test_dataverse_transient_5xx_then_success_uses_backoff(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.faults.fail_next(503)
    dataverse_sandbox.state.faults.fail_next(500)

    assert dataverse_client.entity_attributes("lead")

    first, second = sandbox_clock.sleeps
    assert 1.0 <= first <= 2.0  # base 1 s + jitter up to 1 s
    assert 2.0 <= second <= 3.0  # doubled


@pytest.mark.parametrize("status", [500, 503])
def test_dataverse_persistent_5xx_exhausts_the_retries(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
    status: int,
) -> None:
    dataverse_sandbox.state.faults.set_error_rate(status, 1.0)

    with pytest.raises(RetriesExhausted) as caught:
        dataverse_client.entity_attributes("contact")

    message = str(caught.value)
    assert message.startswith("Dataverse: GET EntityDefinitions(LogicalName='contact')/Attributes")
    assert f"after {ATTEMPTS} attempts" in message
    assert f"HTTP {status}" in message
    assert "Bearer" not in message
    assert dataverse_sandbox.state.counters.count("GET", ATTRIBUTES_TEMPLATE) == ATTEMPTS
    assert len(sandbox_clock.sleeps) == TEST_MAX_RETRIES
    assert sandbox_clock.sleeps == sorted(sandbox_clock.sleeps)  # exponential


def test_dataverse_dropped_connection_is_retried(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_client.entity_attributes("contact")  # a pooled keep-alive connection exists now
    dataverse_sandbox.state.faults.drop_next(2)

    assert dataverse_client.entity_attributes("contact")

    assert len(sandbox_clock.sleeps) == 2
    statuses = [
        c.status for c in dataverse_sandbox.state.counters.calls("GET", ATTRIBUTES_TEMPLATE)
    ]
    assert statuses == [200, 0, 0, 200]  # 0: dropped without an answer


def test_dataverse_connections_always_dropped_exhausts_the_retries(
    dataverse_client: DataverseClient, dataverse_sandbox: DataverseSandbox
) -> None:
    dataverse_sandbox.state.faults.set_drop_rate(1.0)

    with pytest.raises(RetriesExhausted, match=r"connection failed \(RemoteProtocolError"):
        dataverse_client.entity_attributes("contact")

    assert dataverse_sandbox.state.counters.count("GET", ATTRIBUTES_TEMPLATE) == ATTEMPTS


def test_dataverse_slow_response_times_out_and_is_retried(
    dataverse_sandbox: DataverseSandbox, retry_policy: RetryPolicy, sandbox_clock: ManualClock
) -> None:
    with dataverse_sandbox.http_client(timeout=0.3) as http:
        client = DataverseClient(
            dataverse_sandbox.org_url,
            MsalTokenProvider(
                dataverse_sandbox.tenant_id,
                dataverse_sandbox.client_id,
                dataverse_sandbox.client_secret,
                org_url=dataverse_sandbox.org_url,
                authority_host=dataverse_sandbox.authority_host,
                http_client=http,
            ),
            http=http,
            retry=retry_policy,
        )
        dataverse_sandbox.state.faults.slow_next(1.5)

        assert client.entity_attributes("contact")

    assert len(sandbox_clock.sleeps) == 1


def test_dataverse_added_latency_still_succeeds(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.faults.latency_seconds = 0.05
    assert dataverse_client.entity_attributes("account")
    assert sandbox_clock.sleeps == []


def test_dataverse_seeded_error_rate_is_survived(
    dataverse_client: DataverseClient, dataverse_sandbox: DataverseSandbox
) -> None:
    dataverse_sandbox.state.faults.set_error_rate(503, 0.3)

    for _ in range(5):
        assert dataverse_client.entity_attributes("contact")

    counters = dataverse_sandbox.state.counters
    assert counters.count("GET", ATTRIBUTES_TEMPLATE, status=503) > 0  # seed 0 makes it so
    assert counters.count("GET", ATTRIBUTES_TEMPLATE, status=200) == 5


# Dotdigital ---------------------------------------------------------------------------------


def test_dotdigital_429_honours_x_ratelimit_reset(
    dotdigital_client: DotdigitalClient,
    dotdigital_sandbox: DotdigitalSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dotdigital_sandbox.state.throttle_next(2, reset_in=15)

    assert dotdigital_client.list_data_fields()

    assert sandbox_clock.sleeps == [15.0, 15.0]
    statuses = [c.status for c in dotdigital_sandbox.state.counters.calls("GET", DATA_FIELDS)]
    assert statuses == [429, 429, 200]


def test_dotdigital_per_minute_budget_waits_for_the_next_window(
    dotdigital_client: DotdigitalClient,
    dotdigital_sandbox: DotdigitalSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dotdigital_sandbox.state.set_rate_limit(2, window_seconds=60)

    for _ in range(3):
        dotdigital_client.list_data_fields()

    assert sandbox_clock.sleeps == [60.0]
    assert dotdigital_sandbox.state.counters.count("GET", DATA_FIELDS, status=429) == 1


def test_dotdigital_legacy_apiusage_exceeded_is_retried(
    dotdigital_client: DotdigitalClient,
    dotdigital_sandbox: DotdigitalSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dotdigital_sandbox.state.throttle_next(2, legacy=True)

    assert dotdigital_client.list_data_fields()

    assert len(sandbox_clock.sleeps) == 2  # no header to honour: exponential backoff
    statuses = [c.status for c in dotdigital_sandbox.state.counters.calls("GET", DATA_FIELDS)]
    assert statuses == [400, 400, 200]


def test_dotdigital_legacy_limit_that_never_lifts_exhausts_the_retries(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dotdigital_sandbox.state.legacy_rate_limit = True
    dotdigital_sandbox.state.set_rate_limit(0, window_seconds=3600)

    with pytest.raises(RetriesExhausted, match="ERROR_APIUSAGE_EXCEEDED"):
        dotdigital_client.list_data_fields()


@pytest.mark.parametrize("status", [500, 503])
def test_dotdigital_persistent_5xx_exhausts_the_retries(
    dotdigital_client: DotdigitalClient,
    dotdigital_sandbox: DotdigitalSandbox,
    status: int,
) -> None:
    dotdigital_sandbox.state.faults.set_error_rate(status, 1.0)

    with pytest.raises(RetriesExhausted) as caught:
        dotdigital_client.create_data_field("LOYALTY", "String")

    message = str(caught.value)
    assert message.startswith("Dotdigital: POST /v2/data-fields still failing after")
    assert f"{ATTEMPTS} attempts" in message
    assert f"HTTP {status}" in message
    assert dotdigital_sandbox.password.get_secret_value() not in message
    assert dotdigital_sandbox.state.counters.count("POST", DATA_FIELDS) == ATTEMPTS
    assert dotdigital_sandbox.state.field("LOYALTY") is None


def test_dotdigital_dropped_connections_exhaust_the_retries(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dotdigital_sandbox.state.faults.set_drop_rate(1.0)

    with pytest.raises(RetriesExhausted, match="connection failed"):
        dotdigital_client.list_data_fields()

    assert dotdigital_sandbox.state.counters.count("GET", DATA_FIELDS) == ATTEMPTS


# The policy on its own ----------------------------------------------------------------------


def test_zero_retries_means_one_attempt(sandbox_clock: ManualClock) -> None:
    policy = RetryPolicy(max_retries=0, sleep=sandbox_clock.sleep)
    calls = []

    def attempt() -> None:
        calls.append(1)
        raise TransientHttpError("HTTP 503 Service Unavailable", status=503)

    with pytest.raises(RetriesExhausted, match="after 1 attempt; last error: HTTP 503"):
        policy.run("Test", "GET /x", attempt)
    assert calls == [1]
    assert sandbox_clock.sleeps == []


def test_non_transient_errors_are_not_retried(sandbox_clock: ManualClock) -> None:
    policy = RetryPolicy(sleep=sandbox_clock.sleep)
    calls = []

    def attempt() -> None:
        calls.append(1)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        policy.run("Test", "GET /x", attempt)
    assert calls == [1]


def test_backoff_is_bounded_and_reproducible() -> None:
    first = RetryPolicy(max_wait_seconds=5, rng=random.Random(7))
    second = RetryPolicy(max_wait_seconds=5, rng=random.Random(7))
    waits = [first.backoff(n) for n in range(1, 8)]
    assert waits == [second.backoff(n) for n in range(1, 8)]
    assert all(0 < w <= 5 for w in waits)
    assert waits[-1] == 5


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "12"}, 12.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": formatdate(1_700_000_030, usegmt=True)}, 30.0),
        ({"x-ratelimit-reset": "1700000045"}, 45.0),
        ({"x-ratelimit-reset": "20"}, 20.0),  # a small number is a delay, not an epoch
        ({"x-ratelimit-reset": "1699999990"}, None),  # already past: use backoff
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_server_requested_wait(headers: dict[str, str], expected: float | None) -> None:
    assert server_requested_wait(httpx.Headers(headers), now=1_700_000_000.0) == expected
