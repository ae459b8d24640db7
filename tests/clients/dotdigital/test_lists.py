"""Address books, suppressions, campaigns (and the empty-list send guard), programs and
preferences through the client against the sandbox; exchanges validated against the OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital import (
    ADDRESS_BOOK_CONTACT,
    ADDRESS_BOOK_CONTACTS_DELETE,
    ADDRESS_BOOKS,
    CAMPAIGN_SEND,
    CONTACT_DELETION,
    ENROLMENTS,
    DotdigitalState,
    SeedSpec,
)
from shared.clients import (
    DotdigitalClient,
    PreferenceChoice,
    UnsafeCampaignSendError,
)
from shared.clients.dotdigital.programs import EnrolmentLimitReached
from shared.errors import ApiError, OutcomeUnknown
from tests.fixtures.sandboxes import DotdigitalSandbox

DAY = 86_400


def when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# Address books ------------------------------------------------------------------------------


def test_create_list_get_and_delete_address_books(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    created = client.create_address_book("Dynamics: Spring event", visibility="Public")
    assert (created.name, created.visibility, created.contacts) == (
        "Dynamics: Spring event",
        "Public",
        0,
    )
    assert state.counters.calls("POST", ADDRESS_BOOKS)[0].status == 201

    names = [book.name for book in client.iter_address_books()]
    assert names == ["Test", "Dynamics: Spring event"]  # every account has "Test"
    assert client.get_address_book(created.id) == created

    client.delete_address_book(created.id)
    with pytest.raises(ApiError) as caught:
        client.get_address_book(created.id)
    assert (caught.value.status, caught.value.code) == (404, "ERROR_ADDRESSBOOK_NOT_FOUND")


@pytest.mark.parametrize("name", ["Test", "test", "All Contacts"])
def test_reserved_and_duplicate_names_are_refused(client: DotdigitalClient, name: str) -> None:
    with pytest.raises(ApiError) as caught:
        client.create_address_book(name)
    assert caught.value.code == "ERROR_ADDRESSBOOK_DUPLICATE"


def test_invalid_names_are_refused_before_any_call(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    for name in ("", "x" * 129):
        with pytest.raises(ValueError, match="1 to 128"):
            client.create_address_book(name)
    assert state.counters.count("POST", ADDRESS_BOOKS) == 0


def test_create_after_a_lost_answer_returns_the_book_it_created(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.faults.lose_response_next()
    book = client.create_address_book("Lost answer")
    assert book.name == "Lost answer"
    assert [c.status for c in state.counters.calls("POST", ADDRESS_BOOKS)] == [0, 400]
    assert sum(b.name == "Lost answer" for b in state.store.books.values()) == 1


def test_the_test_book_cannot_be_written(client: DotdigitalClient, state: DotdigitalState) -> None:
    test_book = next(b for b in client.iter_address_books() if b.name == "Test")
    with pytest.raises(ApiError) as caught:
        client.delete_address_book(test_book.id)
    assert caught.value.code == "ERROR_ADDRESSBOOK_NOTWRITABLE"


def test_remove_members_one_and_in_bulk(client: DotdigitalClient, state: DotdigitalState) -> None:
    seeded = state.populate(SeedSpec(contacts=1_210, address_books=(1_205,)))
    book_id = seeded.address_book_ids[0]
    members = list(state.store.books[book_id].members)

    assert client.remove_contact_from_address_book(book_id, members[0]) is True
    assert client.remove_contact_from_address_book(book_id, 999_999_999) is False
    jobs = client.remove_contacts_from_address_book(
        book_id, members[1:1_201], poll_interval_seconds=2
    )

    assert [job.status for job in jobs] == ["Completed", "Completed"]  # 1000 + 200 ids
    assert client.get_address_book(book_id).contacts == 4
    assert state.counters.count("POST", ADDRESS_BOOK_CONTACTS_DELETE, status=202) == 2
    assert [c.status for c in state.counters.calls("GET", CONTACT_DELETION)] == [200] * 4
    assert state.counters.calls("DELETE", ADDRESS_BOOK_CONTACT)[0].status == 204
    removed = state.store.contacts[members[5]]
    assert book_id not in removed.books  # left the book, still in the account
    assert removed.updated > removed.created  # a membership change is a modification


def test_unsubscribes_from_one_book_since_a_date(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    seeded = state.populate(SeedSpec(contacts=200, address_books=(150,), book_unsubscribes=40))
    book = state.store.books[seeded.address_book_ids[0]]
    cutoff = sandbox_clock.now() - 30 * DAY

    rows = list(client.iter_address_book_unsubscribes_since(book.id, when(cutoff), select=7))

    expected = [r for r in book.unsubscribes if r.date >= cutoff]
    assert [(r.contact.id, r.reason) for r in rows] == [
        (r.contact_id, "Unsubscribed") for r in expected
    ]
    assert all(r.date_removed and r.date_removed >= when(cutoff) for r in rows)


# Suppressions -------------------------------------------------------------------------------


def test_suppressions_since_a_date_in_the_order_they_happened(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.populate(SeedSpec(contacts=500, suppressed=120))
    cutoff = sandbox_clock.now() - 45 * DAY

    rows = list(client.iter_suppressions_since(when(cutoff), select=50))
    unsubscribes = list(client.iter_unsubscribes_since(when(cutoff)))

    expected = [s for s in state.store.suppressions if s.date >= cutoff]
    assert 0 < len(rows) == len(expected) < 120
    assert [(r.contact.id, r.reason) for r in rows] == [(s.contact_id, s.reason) for s in expected]
    dates = [r.date_removed for r in rows]
    assert dates == sorted(dates)  # type: ignore[type-var]
    assert {r.reason for r in rows} > {"Unsubscribed"}
    assert [r.contact.id for r in unsubscribes] == [
        s.contact_id for s in expected if s.reason == "Unsubscribed"
    ]
    assert rows[0].contact.status == rows[0].reason
    assert rows[0].email == state.store.contacts[rows[0].contact.id].email


def test_a_new_unsubscribe_shows_up_after_the_watermark(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.populate(SeedSpec(contacts=20, suppressed=5))
    watermark = when(sandbox_clock.now())
    sandbox_clock.advance(60)
    contact = next(c for c in state.store.contacts.values() if c.status == "Subscribed")
    state.store.suppress(contact, "Unsubscribed", sandbox_clock.now())

    rows = list(client.iter_suppressions_since(watermark))
    assert [(r.contact.id, r.reason) for r in rows] == [(contact.id, "Unsubscribed")]


# Campaigns ----------------------------------------------------------------------------------


def test_campaign_activity_since_a_date(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    seeded = state.populate(SeedSpec(contacts=300, campaigns=3, activities_per_campaign=100))
    cutoff = sandbox_clock.now() - 20 * DAY

    with_activity = [c.id for c in client.iter_campaigns_with_activity_since(when(cutoff))]
    campaign = state.campaigns[seeded.campaign_ids[0]]
    rows = list(client.iter_campaign_activities_since(campaign.id, when(cutoff), select=25))

    assert with_activity == [
        c.id for c in state.campaigns.values() if (c.last_activity() or 0) >= cutoff
    ]
    expected = [a for a in campaign.activities.values() if a.last_activity >= cutoff]
    assert [r.contact_id for r in rows] == [a.contact_id for a in expected]
    opened = next(r for r in rows if r.num_opens)
    assert opened.date_last_opened is not None and opened.date_last_opened >= when(cutoff)

    summary = client.campaign_summary(campaign.id)
    activities = list(campaign.activities.values())
    assert summary.num_sent == 100
    assert summary.num_unique_opens == sum(a.num_opens > 0 for a in activities)
    assert summary.num_opens == sum(a.num_opens for a in activities)
    assert summary.num_hard_bounces == sum(a.hard_bounced for a in activities)
    assert summary.raw["percentageDelivered"] <= 100


def test_send_to_an_address_book(client: DotdigitalClient, state: DotdigitalState) -> None:
    seeded = state.populate(SeedSpec(contacts=50, address_books=(20,)))
    campaign = state.add_campaign("Spring")
    book_id = seeded.address_book_ids[0]

    send = client.send_campaign(campaign.id, address_book_ids=[book_id])

    assert (send.campaign_id, send.status, send.address_book_ids) == (
        campaign.id,
        "Sending",
        (book_id,),
    )
    record = state.sends[-1]
    assert set(record.recipients) <= set(state.store.books[book_id].members)
    assert len(record.recipients) == len(campaign.activities) <= 20
    assert client.campaign_send_status(send.id).status == "Sent"


def test_empty_send_is_refused_before_any_request(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    campaign = state.add_campaign("Spring")
    calls_before = state.counters.total()

    with pytest.raises(UnsafeCampaignSendError, match="ALL contacts"):
        client.send_campaign(campaign.id)
    with pytest.raises(UnsafeCampaignSendError):
        client.send_campaign(campaign.id, address_book_ids=[], contact_ids=[])

    assert state.counters.total() == calls_before
    assert state.sends == []


def test_the_sandbox_reproduces_the_hazard_the_guard_prevents(
    dotdigital_sandbox: DotdigitalSandbox, validated_dotdigital_http: httpx.Client
) -> None:
    """Called directly, an empty send goes to every subscribed contact of the account."""
    state = dotdigital_sandbox.state
    state.populate(SeedSpec(contacts=40, address_books=(5,), suppressed=6))
    campaign = state.add_campaign("Oops")

    response = validated_dotdigital_http.post(
        f"{dotdigital_sandbox.api_endpoint}/v2/campaigns/send",
        json={"campaignId": campaign.id, "addressBookIds": [], "contactIds": []},
        auth=(dotdigital_sandbox.api_user, dotdigital_sandbox.password.get_secret_value()),
    )

    assert response.status_code == 202
    (send,) = state.sends
    assert send.to_all_contacts
    subscribed = [c.id for c in state.store.contacts.values() if c.status == "Subscribed"]
    assert len(subscribed) == 34
    assert send.recipients == subscribed


def test_a_send_whose_answer_is_lost_is_not_repeated(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=10, address_books=(10,)))
    campaign = state.add_campaign("Once")
    state.faults.lose_response_next()

    with pytest.raises(OutcomeUnknown, match="not repeated"):
        client.send_campaign(campaign.id, address_book_ids=seeded.address_book_ids)

    assert len(state.sends) == 1  # it did happen, once
    assert state.counters.count("POST", CAMPAIGN_SEND) == 1


def test_a_send_refused_with_429_is_retried(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=10, address_books=(10,)))
    campaign = state.add_campaign("Later")
    state.throttle_next(2, reset_in=5)
    send = client.send_campaign(campaign.id, address_book_ids=seeded.address_book_ids)
    assert send.status == "Sending"
    assert [c.status for c in state.counters.calls("POST", CAMPAIGN_SEND)] == [429, 429, 202]


def test_send_to_unknown_campaign(client: DotdigitalClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.send_campaign(123, contact_ids=[1])
    assert (caught.value.status, caught.value.code) == (404, "ERROR_CAMPAIGN_NOT_FOUND")


# Programs -----------------------------------------------------------------------------------


def test_enrol_contacts_and_books_in_a_program(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=30, address_books=(12,), programs=3))
    programs = list(client.iter_programs())
    assert [p.status for p in programs] == ["Active", "Active", "Draft"]

    enrolment = client.enrol_in_program(
        programs[0].id,
        contact_ids=list(seeded.contact_ids[:3]),
        address_book_ids=seeded.address_book_ids,
    )

    assert enrolment.status == "Processing"
    assert client.program_enrolment(enrolment.id).status == "Processing"
    assert client.program_enrolment(enrolment.id).status == "Finished"
    assert len(state.programs[programs[0].id].enrolled) >= 12

    with pytest.raises(ApiError) as caught:
        client.enrol_in_program(programs[2].id, contact_ids=[seeded.contact_ids[0]])
    assert (caught.value.status, caught.value.code) == (422, "ERROR_PROGRAM_NOT_ACTIVE")
    with pytest.raises(ApiError) as caught:
        client.enrol_in_program(1, contact_ids=[seeded.contact_ids[0]])
    assert (caught.value.status, caught.value.code) == (404, "ERROR_PROGRAM_NOT_FOUND")


def test_enrolment_limits_are_checked_before_any_call(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    with pytest.raises(ValueError, match="needs contacts or address books"):
        client.enrol_in_program(1)
    with pytest.raises(ValueError, match="at most 25 contacts"):
        client.enrol_in_program(1, contact_ids=list(range(26)))
    assert state.counters.count("POST", ENROLMENTS) == 0


def test_the_hourly_enrolment_limit_is_reported_at_once_not_waited_out(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=2, programs=1))
    state.enrolments_per_hour = 1
    program_id = seeded.program_ids[0]
    client.enrol_in_program(program_id, contact_ids=[seeded.contact_ids[0]])
    calls = state.counters.count("POST", "/v2/programs/enrolments")
    # An hour-long limit: retrying inside a run would only sleep (the run keeps its rows).
    with pytest.raises(EnrolmentLimitReached, match="429"):
        client.enrol_in_program(program_id, contact_ids=[seeded.contact_ids[1]])
    assert state.counters.count("POST", "/v2/programs/enrolments") == calls + 1
    assert len(state.enrolments) == 1


# Preferences --------------------------------------------------------------------------------


def test_preferences_tree_and_one_contacts_opt_ins(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(
        SeedSpec(contacts=3, preference_categories=2, preferences_per_category=2)
    )
    loose = state.add_preference("Newsletter")
    contact_id = seeded.contact_ids[0]
    state.store.contacts[contact_id].preferences.clear()

    tree = client.list_preferences()
    assert [(p.public_name, p.is_preference) for p in tree] == [
        ("Interests 1", False),
        ("Interests 2", False),
        ("Newsletter", True),
    ]
    category = tree[0]
    first, second = category.preferences
    assert first.category_id == category.id

    client.set_contact_preferences(
        contact_id,
        [
            PreferenceChoice(preference_id=first.id, opted_in=True, category_id=category.id),
            PreferenceChoice(preference_id=second.id, opted_in=False, category_id=category.id),
            PreferenceChoice(preference_id=loose.id, opted_in=True),
        ],
    )

    opted = {
        p.id: p.is_opted_in
        for tree_item in client.contact_preferences(contact_id)
        for p in tree_item.flatten()
    }
    assert opted[first.id] is True and opted[second.id] is False and opted[loose.id] is True
    assert state.store.contacts[contact_id].preferences == {first.id, loose.id}
