"""The Adobe I/O Events journal against the ACS sandbox: batches in order by the `next` link,
the end of the journal (204, retry-after, the same link), `limit` kept in the links, expired
positions (410), 429 and lost answers retried, the token only sent to the registration."""

from __future__ import annotations

import pytest

from sandbox.adobe import JOURNAL
from sandbox.clock import ManualClock
from shared.clients.adobe import AdobeCampaignClient, ForeignHref
from shared.clients.adobe.journal import EventJournalClient, JournalExpired
from shared.errors import AuthenticationError
from tests.fixtures.sandboxes import AdobeSandbox


@pytest.fixture
def journal(adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox) -> EventJournalClient:
    state = adobe_sandbox.state
    return adobe_client.journal(state.journal_url(), state.ims_org_id)


def _ids(adobe_sandbox: AdobeSandbox, count: int) -> list[str]:
    return [
        adobe_sandbox.state.add_email_event("send", f"contact-{n}", delivery_id=f"DM{n}")["id"]
        for n in range(count)
    ]


def test_batches_follow_the_next_link_in_order_and_the_end_answers_no_content(
    journal: EventJournalClient, adobe_sandbox: AdobeSandbox
) -> None:
    sent = _ids(adobe_sandbox, 5)
    first = journal.read(journal.start_href(limit=2))
    second = journal.read(first.next_href)
    third = journal.read(second.next_href)
    assert [len(b.events) for b in (first, second, third)] == [2, 2, 1]
    assert [e.event["id"] for b in (first, second, third) for e in b.events] == sent
    assert "limit=2" in third.next_href  # `limit` stays in every link
    end = journal.read(third.next_href)
    assert end.at_end and end.retry_after == 10.0 and end.next_href == third.next_href
    later = _ids(adobe_sandbox, 1)
    assert [e.event["id"] for e in journal.read(end.next_href).events] == later


def test_latest_starts_at_the_end_of_the_journal(
    journal: EventJournalClient, adobe_sandbox: AdobeSandbox
) -> None:
    _ids(adobe_sandbox, 3)
    end = journal.read(journal.start_href(limit=10, latest=True))
    assert end.at_end
    new = _ids(adobe_sandbox, 1)
    assert [e.event["id"] for e in journal.read(end.next_href).events] == new


def test_a_position_older_than_seven_days_is_gone(
    journal: EventJournalClient, adobe_sandbox: AdobeSandbox, sandbox_clock: ManualClock
) -> None:
    _ids(adobe_sandbox, 2)
    first = journal.read(journal.start_href(limit=1))
    sandbox_clock.advance(7 * 24 * 3600 + 1)
    kept = _ids(adobe_sandbox, 1)
    with pytest.raises(JournalExpired, match="have expired"):
        journal.read(first.next_href)
    oldest = journal.read(journal.start_href(limit=10))  # the oldest events still kept
    assert [e.event["id"] for e in oldest.events] == kept


def test_throttling_and_lost_answers_are_retried_and_nothing_is_skipped(
    journal: EventJournalClient, adobe_sandbox: AdobeSandbox
) -> None:
    sent = _ids(adobe_sandbox, 4)
    state = adobe_sandbox.state
    state.throttle_next(2, retry_after=3)
    state.faults.fail_next(502)
    state.faults.lose_response_next()
    read: list[str] = []
    href = journal.start_href(limit=3)
    while not (batch := journal.read(href)).at_end:
        read += [e.event["id"] for e in batch.events]
        href = batch.next_href
    assert read == sent
    assert state.faults.injected["lose"] == 1 and state.faults.injected["502"] == 1


def test_the_token_goes_only_to_the_registration_and_a_wrong_org_is_refused(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    state = adobe_sandbox.state
    journal = adobe_client.journal(state.journal_url(), state.ims_org_id)
    with pytest.raises(ForeignHref):
        journal.read(state.journal_url().rsplit("/", 1)[0] + "/another-registration")
    wrong = adobe_client.journal(state.journal_url(), "OTHER00000000000000000@AdobeOrg")
    with pytest.raises(AuthenticationError, match="IMS organization id"):
        wrong.read(wrong.start_href(limit=1))
    assert state.counters.count("GET", JOURNAL) == 1
