"""Waits inside a run slice are bounded by its deadline (`shared.deadline`): a retry, a
Retry-After or an import poll that would end past it raises OutOfTime before waiting, and no
request starts after it. Waits are recorded by `sandbox_clock` (never slept)."""

from __future__ import annotations

import time

import pytest

from sandbox.clock import ManualClock
from shared import deadline
from shared.clients import DataverseClient, DotdigitalClient
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.dotdigital.imports import ImportContact
from shared.deadline import OutOfTime
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox, DotdigitalSandbox


def _seconds_from_now(seconds: float) -> float:
    return time.monotonic() + seconds


def test_a_retry_after_longer_than_the_slice_has_left_is_not_waited_for(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.throttle_next(1, retry_after=120)

    with deadline.until(_seconds_from_now(60)), pytest.raises(OutOfTime) as out:
        dataverse_client.entity_attributes("contact")

    assert sandbox_clock.sleeps == []  # it gave up before waiting, not after
    assert "would wait 120.0 s" in str(out.value) and "HTTP 429" in str(out.value)


def test_retry_after_within_the_slice_is_waited_for_as_before(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.throttle_next(2, retry_after=3)

    with deadline.until(_seconds_from_now(60)):
        assert dataverse_client.entity_attributes("contact")

    assert sandbox_clock.sleeps == [3.0, 3.0]


def test_no_request_starts_after_the_deadline(
    dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    before = len(dotdigital_sandbox.state.counters.calls("GET"))

    with deadline.until(_seconds_from_now(-1)), pytest.raises(OutOfTime):
        list(dotdigital_client.iter_address_books())

    assert len(dotdigital_sandbox.state.counters.calls("GET")) == before


def test_an_import_poll_that_would_cross_the_deadline_stops_with_the_import_id(
    dotdigital_client: DotdigitalClient,
    dotdigital_sandbox: DotdigitalSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dotdigital_sandbox.state.import_not_finished_polls = 5
    import_id = dotdigital_client.start_contact_import([ImportContact(email="ada@example.com")])

    with deadline.until(_seconds_from_now(5)), pytest.raises(OutOfTime) as out:
        dotdigital_client.wait_for_contact_import(import_id, poll_interval_seconds=10)

    assert sandbox_clock.sleeps == []
    assert import_id in str(out.value)
    # Outside a slice the same import is waited for to the end, as before.
    assert dotdigital_client.wait_for_contact_import(import_id, poll_interval_seconds=10).finished


def test_outside_a_slice_nothing_is_bounded(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.throttle_next(1, retry_after=100)

    assert dataverse_client.entity_attributes("contact")
    assert sandbox_clock.sleeps == [100.0]  # capped by the test policy, not a deadline


def test_work_fanned_out_to_threads_still_sees_the_slices_deadline(
    adobe_client: AdobeCampaignClient,
    adobe_sandbox: AdobeSandbox,
    sandbox_clock: ManualClock,
) -> None:
    # The ingress writes a page's records four at a time: a 429 met in one of those threads
    # must stop the slice like one met in the runner's own thread, not sleep past its budget.
    adobe_client.tokens.token()
    adobe_sandbox.state.throttle_next(1, retry_after=120)

    def read(key: str) -> object:
        return adobe_client.get_by_key("profile", key)

    with deadline.until(_seconds_from_now(60)), pytest.raises(OutOfTime):
        deadline.in_parallel(read, ["a", "b", "c", "d"], workers=4)

    assert sandbox_clock.sleeps == []


def test_outside_a_slice_threads_wait_as_they_always_did(
    adobe_client: AdobeCampaignClient,
    adobe_sandbox: AdobeSandbox,
    sandbox_clock: ManualClock,
) -> None:
    adobe_client.tokens.token()
    adobe_sandbox.state.throttle_next(1, retry_after=120)

    found = deadline.in_parallel(
        lambda key: adobe_client.get_by_key("profile", key), ["a", "b"], workers=2
    )

    assert found == [None, None] and sandbox_clock.sleeps == [120.0]
