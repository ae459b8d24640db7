"""The sandbox's generated campaign behaviour and its v2 reads, over raw HTTP checked against
Dotdigital's OpenAPI: exact counts from the rates, since-date filtering, select/skip paging,
and a single read switched to fail while the others answer."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital import DotdigitalState
from sandbox.dotdigital.api_campaign_behaviour import CAMPAIGN_CLICKS_SINCE
from sandbox.dotdigital.campaign_behaviour import BehaviourSpec, click, send_generated
from tests.fixtures.sandboxes import DotdigitalSandbox

EPOCH = "2000-01-01T00:00:00Z"


@pytest.fixture
def state(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def http(
    dotdigital_sandbox: DotdigitalSandbox, validated_dotdigital_http: httpx.Client
) -> httpx.Client:
    validated_dotdigital_http.auth = (
        dotdigital_sandbox.api_user,
        dotdigital_sandbox.password.get_secret_value(),
    )
    validated_dotdigital_http.base_url = httpx.URL(dotdigital_sandbox.api_endpoint)
    return validated_dotdigital_http


def _all(http: httpx.Client, path: str, select: int = 1000) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    while True:
        page = http.get(path, params={"select": select, "skip": len(rows)}).json()
        rows.extend(page)
        if len(page) < select:
            return rows


def test_a_generated_campaign_has_the_rates_it_was_given_and_the_same_spec_the_same_data(
    http: httpx.Client, state: DotdigitalState
) -> None:
    spec = BehaviourSpec(recipients=400, open_rate=0.2, click_rate=0.05, roi_rate=0.5)
    campaign = send_generated(state, spec)
    base = f"/v2/campaigns/{campaign.id}"

    summary = http.get(f"{base}/summary").json()
    assert (summary["numSent"], summary["numUniqueOpens"]) == (400, 80)
    assert summary["numRecipientsClicked"] == 20
    clicks = _all(http, f"{base}/clicks/since-date/{EPOCH}", select=7)
    assert len(clicks) == 20
    assert len(_all(http, f"{base}/page-views/since-date/{EPOCH}")) == 20  # 10 clickers x 2
    assert len(_all(http, f"{base}/roi-details/since-date/{EPOCH}")) == 10
    assert len(_all(http, f"{base}/social-bookmark-views")) == 1  # 1% of 80 openers
    activities = _all(http, f"{base}/activities/since-date/{EPOCH}", select=150)
    assert len(activities) == 400
    dates = [str(c["dateClicked"]) for c in clicks]
    assert dates == sorted(dates)  # in the order they happened: pages are stable

    again = send_generated(state, spec)
    assert [(c.contact_id, c.date) for c in again.clicks] == [
        (c.contact_id, c.date) for c in campaign.clicks
    ]


def test_reads_since_a_date_answer_only_what_happened_after_it(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    campaign = send_generated(state, BehaviourSpec(recipients=50, click_rate=0.1))
    later = sandbox_clock.now() + 3600
    reader = campaign.activities[next(iter(campaign.activities))]
    click(campaign, reader.contact_id, reader.email, "https://example.com/late", later)
    since = datetime.fromtimestamp(later - 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    base = f"/v2/campaigns/{campaign.id}"
    [late] = http.get(f"{base}/clicks/since-date/{since}").json()
    assert late["url"] == "https://example.com/late"
    [active] = http.get(f"{base}/activities/since-date/{since}").json()
    assert active["contactId"] == reader.contact_id and active["numClicks"] >= 1
    listed = http.get(f"/v2/campaigns/with-activity-since/{since}").json()
    assert [c["id"] for c in listed] == [campaign.id]


def test_a_failing_route_fails_alone_and_an_unknown_campaign_is_404(
    http: httpx.Client, state: DotdigitalState
) -> None:
    campaign = send_generated(state, BehaviourSpec(recipients=20, click_rate=0.2))
    state.faults.fail_route(CAMPAIGN_CLICKS_SINCE, 503)
    base = f"/v2/campaigns/{campaign.id}"
    assert http.get(f"{base}/clicks/since-date/{EPOCH}").status_code == 503
    assert http.get(f"{base}/page-views/since-date/{EPOCH}").status_code == 200
    missing = http.get(f"/v2/campaigns/999999/roi-details/since-date/{EPOCH}")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Error: ERROR_CAMPAIGN_NOT_FOUND"}
