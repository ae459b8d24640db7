"""The ACS sandbox's I/O Events journal on the wire, against Adobe's documented samples
(developer.adobe.com/events/docs/guides/api/journaling-api): the body's `events`/`_page`,
the `Link` headers, 204 with `retry-after` at the end, 410 Gone with a text body."""

from __future__ import annotations

import httpx
import pytest

from sandbox.clock import ManualClock
from tests.fixtures.sandboxes import AdobeSandbox


@pytest.fixture
def headers(adobe_sandbox: AdobeSandbox, adobe_http: httpx.Client) -> dict[str, str]:
    adobe_sandbox.state.token_lifetime = 30 * 24 * 3600  # outlives the journal's 7 days
    token = adobe_http.post(
        f"{adobe_sandbox.ims_url}/ims/token/v3",
        data={"grant_type": "client_credentials", "client_id": adobe_sandbox.client_id,
              "client_secret": adobe_sandbox.client_secret.get_secret_value()},
    ).json()["access_token"]  # fmt: skip
    return {
        "Authorization": f"Bearer {token}",
        "x-api-key": adobe_sandbox.client_id,
        "x-ims-org-id": adobe_sandbox.state.ims_org_id,
    }


def test_a_batch_carries_events_with_positions_and_a_next_link(
    adobe_sandbox: AdobeSandbox, adobe_http: httpx.Client, headers: dict[str, str]
) -> None:
    state = adobe_sandbox.state
    for n in range(3):
        state.add_email_event("open", f"c{n}")
    answer = adobe_http.get(state.journal_url(), params={"limit": 2}, headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"events", "_page"}
    assert [set(e) for e in body["events"]] == [{"position", "event"}] * 2
    assert body["_page"] == {"last": body["events"][-1]["position"], "count": 2}
    [link] = answer.headers.get_list("link")
    path = state.journal_url().split("://", 1)[1].split("/", 1)[1]
    assert link.startswith(f"</{path}?since=") and link.endswith('&limit=2>; rel="next"')


def test_the_end_answers_no_content_with_retry_after_and_two_links(
    adobe_sandbox: AdobeSandbox, adobe_http: httpx.Client, headers: dict[str, str]
) -> None:
    state = adobe_sandbox.state
    answer = adobe_http.get(state.journal_url(), params={"latest": "true"}, headers=headers)
    assert answer.status_code == 204 and answer.headers["retry-after"] == "10"
    links = answer.headers.get_list("link")
    assert [link.rsplit("; ", 1)[1] for link in links] == ['rel="next"', 'rel="validate"']
    assert "/validate?since=" in links[1]


def test_an_expired_position_is_gone_with_a_text_body(
    adobe_sandbox: AdobeSandbox, adobe_http: httpx.Client, headers: dict[str, str],
    sandbox_clock: ManualClock,
) -> None:  # fmt: skip
    state = adobe_sandbox.state
    state.add_email_event("send", "c1")
    state.add_email_event("send", "c2")
    first = adobe_http.get(state.journal_url(), params={"limit": 1}, headers=headers)
    position = first.json()["_page"]["last"]
    sandbox_clock.advance(7 * 24 * 3600)
    gone = adobe_http.get(state.journal_url(), params={"since": position}, headers=headers)
    assert gone.status_code == 410
    assert gone.text == f"Events at position {position} have expired."
