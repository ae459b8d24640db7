"""The Dotdigital sandbox's contact scores and WebInsight page views on the wire (raw HTTP, no
product client): scores validated against the v2 spec, the INFERRED WebInsight read and the
INFERRED "scoring not activated" answer, paging, throttling and counters."""

from __future__ import annotations

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital.api_scoring import SCORES_MODIFIED_SINCE
from sandbox.dotdigital.api_web_insight import PAGE_VIEWS_SINCE
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import iso
from tests.fixtures.dotdigital_openapi.oracle import DotdigitalOracle
from tests.fixtures.sandboxes import DotdigitalSandbox

SCORES = "/v2/contacts/score/modified-since/{}"
VIEWS = "/v2/contacts/web-insight/page-views/since-date/{}"


@pytest.fixture
def state(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def http(dotdigital_http: httpx.Client) -> httpx.Client:
    """Validated against the OpenAPI (inferred routes pass unchecked); authenticated."""
    return dotdigital_http


def _contacts(state: DotdigitalState, count: int, when: float) -> list[int]:
    with state.lock:
        return [state.store.add_contact(f"c{n}@example.com", when=when).id for n in range(count)]


def test_scores_page_in_modified_order_from_the_date_inclusive(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock,
    dotdigital_openapi: DotdigitalOracle,
) -> None:  # fmt: skip
    start = sandbox_clock.now()
    ids = _contacts(state, 5, start)
    for n, contact_id in enumerate(reversed(ids)):  # the last contact changed first
        state.scoring.set(state.store.contacts[contact_id], 10 * n, when=start + 60 * n,
                          label="Warm", engagement=n, suitability=2 * n)  # fmt: skip

    first = http.get(SCORES.format(iso(start + 60)), params={"select": 2}).json()
    rest = http.get(SCORES.format(iso(start + 60)), params={"select": 2, "skip": 2}).json()
    last = http.get(SCORES.format(iso(start + 60)), params={"select": 2, "skip": 4}).json()

    assert [row["score"] for row in first + rest + last] == [10, 20, 30, 40]  # 0 is before
    assert first[0] == {
        "contactId": ids[3], "email": "c3@example.com", "dateModified": iso(start + 60),
        "scoreLabel": "Warm", "score": 10, "engagement": 1, "suitability": 2,
    }  # fmt: skip
    assert last == []
    assert ("GET", SCORES_MODIFIED_SINCE) in dotdigital_openapi.validated_routes()


def test_scoring_not_activated_is_refused_in_the_v2_envelope(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.scoring.enabled = False
    refused = http.get(SCORES.format(iso(sandbox_clock.now())))
    assert refused.status_code == 403
    assert refused.json() == {
        "message": "Contact scoring is not enabled for this account. ERROR_FEATURE_NOT_ACTIVATED"
    }


def test_page_views_page_oldest_first_with_their_id_and_duration(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock,
    dotdigital_openapi: DotdigitalOracle,
) -> None:  # fmt: skip
    start = sandbox_clock.now()
    [contact_id] = _contacts(state, 1, start)
    contact = state.store.contacts[contact_id]
    later = state.web_insight.view(contact, "https://example.com/b", when=start + 120)
    earlier = state.web_insight.view(contact, "https://example.com/a", when=start + 60,
                                     duration_seconds=75)  # fmt: skip
    state.web_insight.view(contact, "https://example.com/old", when=start)

    first = http.get(VIEWS.format(iso(start + 60)), params={"select": 1}).json()
    second = http.get(VIEWS.format(iso(start + 60)), params={"select": 1, "skip": 1}).json()

    assert first == [{
        "id": earlier.id, "contactId": contact_id, "email": "c0@example.com",
        "url": "https://example.com/a", "dateViewed": iso(start + 60), "durationSeconds": 75,
    }]  # fmt: skip
    assert [row["id"] for row in second] == [later.id]
    assert http.get(VIEWS.format(iso(start)), params={"select": 1001}).status_code == 400
    # INFERRED: no description to validate against; the oracle records it as unchecked.
    assert {e.template for e in dotdigital_openapi.unvalidated} == {PAGE_VIEWS_SINCE}


def test_both_reads_are_counted_and_throttled(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    when = iso(sandbox_clock.now())
    state.faults.set_throttle(1.0, seconds=3)
    throttled = http.get(SCORES.format(when))
    assert throttled.status_code == 429 and "x-ratelimit-reset" in throttled.headers
    assert http.get(VIEWS.format(when)).status_code == 429
    state.faults.set_throttle(0.0)
    assert http.get(SCORES.format(when)).json() == []
    assert http.get(VIEWS.format(when)).json() == []
    assert state.counters.count("GET", SCORES_MODIFIED_SINCE) == 2
    assert state.counters.count("GET", PAGE_VIEWS_SINCE, status=429) == 1
