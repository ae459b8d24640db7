"""The Dotdigital sandbox's campaign sends as the email sends from Dynamics rely on them: the
books a campaign was sent to (validated against the v2 OpenAPI), the per-(campaign, book) send
count, and a lost answer aimed at the send call alone."""

from __future__ import annotations

import httpx
import pytest

from sandbox.dotdigital import DotdigitalState, SeedSpec
from sandbox.dotdigital.api_campaign_sends import sends_to
from sandbox.faults import Faults
from tests.fixtures.sandboxes import DotdigitalSandbox

SEND = "/v2/campaigns/send"


@pytest.fixture
def state(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def http(dotdigital_http: httpx.Client) -> httpx.Client:
    return dotdigital_http


def test_a_campaign_lists_the_books_it_was_sent_to_once_each(
    http: httpx.Client, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=6, address_books=(3, 3)))
    first, second = seeded.address_book_ids
    campaign = state.add_campaign("Spring sale")
    books = f"/v2/campaigns/{campaign.id}/address-books"
    assert http.get(books).json() == []

    for book_id in (first, first, second):
        sent = http.post(SEND, json={"campaignId": campaign.id, "addressBookIds": [book_id]})
        assert sent.status_code == 202

    listed = http.get(books).json()
    assert [b["id"] for b in listed] == [first, second]
    assert listed[0]["contacts"] == 3
    assert (sends_to(state, campaign.id, first), sends_to(state, campaign.id, second)) == (2, 1)
    assert [b["id"] for b in http.get(books, params={"select": 1, "skip": 1}).json()] == [second]
    assert http.get("/v2/campaigns/999999/address-books").json() == {
        "message": "Error: ERROR_CAMPAIGN_NOT_FOUND"
    }


def test_a_lost_answer_aimed_at_the_send_lets_other_calls_through_and_the_send_happens(
    http: httpx.Client, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=4, address_books=(4,)))
    [book_id] = seeded.address_book_ids
    campaign = state.add_campaign("Lost answer")
    state.faults.lose_response_next(path=SEND)

    assert http.get(f"/v2/campaigns/{campaign.id}/address-books").status_code == 200
    with pytest.raises(httpx.TransportError):
        http.post(SEND, json={"campaignId": campaign.id, "addressBookIds": [book_id]})

    assert sends_to(state, campaign.id, book_id) == 1
    books = http.get(f"/v2/campaigns/{campaign.id}/address-books").json()
    assert [b["id"] for b in books] == [book_id]


def test_path_scripted_faults_wait_for_their_path_and_keep_their_order() -> None:
    faults = Faults()
    faults.fail_next(503, path="/b")
    faults.fail_next(500)
    outcomes = []
    for path in ("/a", "/a", "/b", "/b"):
        decision = faults.decide(path)
        outcomes.append("ok" if decision is None else f"{path}:{decision.status}")
    assert outcomes == ["/a:500", "ok", "/b:503", "ok"]
