"""Paging as Dotdigital documents it, against the sandbox: v2 select/skip (exact calls), v3
limit/marker with filters, loop detection, laziness, and rate limits, server errors and
dropped connections in the middle of a walk. Exchanges are validated against the OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from urllib.parse import parse_qs

import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital import (
    ADDRESS_BOOK_CONTACTS,
    CAMPAIGN_ACTIVITIES_SINCE,
    CONTACTS,
    SUPPRESSED_SINCE,
    DotdigitalState,
    SeedSpec,
)
from shared.clients import DotdigitalClient, PagingLoopError
from shared.errors import RetriesExhausted
from tests.fixtures.sandboxes import TEST_MAX_RETRIES

DAY = 86_400


def queries(state: DotdigitalState, template: str) -> list[dict[str, list[str]]]:
    return [parse_qs(call.query) for call in state.counters.calls("GET", template)]


def when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# v2 select/skip ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "select", "skips"),
    [
        (250, 100, ["0", "100", "200"]),  # the short third page ends it
        (200, 100, ["0", "100", "200"]),  # exactly full pages: the empty third ends it
        (7, 3, ["0", "3", "6"]),
        (0, 1000, ["0"]),  # the default select is 1000
    ],
)
def test_v2_select_skip_walks_every_page(
    client: DotdigitalClient, state: DotdigitalState, members: int, select: int, skips: list[str]
) -> None:
    seeded = state.populate(SeedSpec(contacts=max(members, 1), address_books=(members,)))
    book_id = seeded.address_book_ids[0]

    contacts = list(client.iter_address_book_contacts(book_id, select=select))

    assert len(contacts) == members
    assert len({c.id for c in contacts}) == members
    assert list(state.store.books[book_id].members) == [c.id for c in contacts]
    sent = queries(state, ADDRESS_BOOK_CONTACTS)
    assert [q["skip"][0] for q in sent] == skips
    assert {q["select"][0] for q in sent} == {str(select)}


def test_v2_full_data_carries_every_data_field(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=3, address_books=(3,)))
    (first, *_) = client.iter_address_book_contacts(seeded.address_book_ids[0], with_full_data=True)
    stored = state.store.contacts[first.id]
    assert first.data_fields["FIRSTNAME"] == stored.data["FIRSTNAME"]
    assert set(first.data_fields) == {f.name for f in state.data_fields}
    (bare, *_) = client.iter_address_book_contacts(seeded.address_book_ids[0])
    assert bare.data_fields == {}


def test_v2_paging_is_lazy(client: DotdigitalClient, state: DotdigitalState) -> None:
    seeded = state.populate(SeedSpec(contacts=50, address_books=(50,)))
    first_ten = list(
        islice(client.iter_address_book_contacts(seeded.address_book_ids[0], select=10), 10)
    )
    assert len(first_ten) == 10
    assert state.counters.count("GET", ADDRESS_BOOK_CONTACTS) == 1


@pytest.mark.parametrize("select", [0, 1001, -5])
def test_v2_select_outside_1_to_1000_is_refused_before_any_call(
    client: DotdigitalClient, state: DotdigitalState, select: int
) -> None:
    with pytest.raises(ValueError, match="select must be between 1 and 1000"):
        next(client.iter_address_books(select=select))
    assert state.counters.count("GET", "/v2/address-books") == 0


def test_campaign_activity_pages_default_to_2000(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    seeded = state.populate(SeedSpec(contacts=60, campaigns=1, activities_per_campaign=50))
    since = when(sandbox_clock.now() - 400 * DAY)
    campaign_id = seeded.campaign_ids[0]

    assert len(list(client.iter_campaign_activities_since(campaign_id, since))) == 50
    assert len(list(client.iter_campaign_activities_since(campaign_id, since, select=20))) == 50

    sent = queries(state, CAMPAIGN_ACTIVITIES_SINCE)
    assert [(q["select"][0], q["skip"][0]) for q in sent] == [
        ("2000", "0"),
        ("20", "0"),
        ("20", "20"),
        ("20", "40"),
    ]
    with pytest.raises(ValueError, match="between 1 and 2000"):
        next(client.iter_campaign_activities_since(campaign_id, since, select=2001))


def test_v2_a_server_that_ignores_skip_is_caught(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=30, address_books=(30,)))
    state.ignore_skip = True
    with pytest.raises(PagingLoopError, match="same page"):
        list(client.iter_address_book_contacts(seeded.address_book_ids[0], select=10))
    assert state.counters.count("GET", ADDRESS_BOOK_CONTACTS) == 2


# v3 limit/marker -------------------------------------------------------------------------


def test_v3_marker_paging_walks_every_page_in_id_order(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=250))

    contacts = list(client.iter_contacts(limit=100))

    assert [c.contact_id for c in contacts] == list(seeded.contact_ids)
    sent = queries(state, CONTACTS)
    assert len(sent) == 3  # no next marker on the last page: no fourth call
    assert "marker" not in sent[0]
    markers = [q["marker"][0] for q in sent[1:]]
    assert len(set(markers)) == 2
    assert all(q["limit"] == ["100"] for q in sent)
    assert all(q["include"] == ["channelProperties|lists"] for q in sent)


def test_v3_contacts_carry_channels_lists_and_requested_fields(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=5, address_books=(5,)))
    book = state.store.books[seeded.address_book_ids[0]]

    contacts = list(client.iter_contacts(data_fields=["firstname", "POSTCODE"]))

    stored = state.store.contacts[contacts[0].contact_id]
    assert contacts[0].data_fields == {
        "FIRSTNAME": stored.data["FIRSTNAME"],
        "POSTCODE": stored.data["POSTCODE"],
    }
    assert contacts[0].email == stored.email
    assert contacts[0].email_status == "subscribed"
    assert [(m.id, m.name, m.status) for m in contacts[0].lists] == [
        (book.id, book.name, "subscribed")
    ]
    assert next(client.iter_contacts(data_fields="all", limit=2)).data_fields.keys() == {
        f.name for f in state.data_fields
    }


def test_v3_modified_since_and_list_filters(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    seeded = state.populate(SeedSpec(contacts=400, address_books=(120,)))
    cutoff = sandbox_clock.now() - 20 * DAY
    book_id = seeded.address_book_ids[0]

    modified = list(client.iter_contacts(modified_since=when(cutoff), limit=50))
    in_book = list(client.iter_contacts(modified_since=when(cutoff), list_id=book_id, limit=50))
    created = list(client.iter_contacts(created_since=when(cutoff), include=(), limit=5000))

    contacts = state.store.contacts.values()
    assert {c.contact_id for c in modified} == {c.id for c in contacts if c.updated >= cutoff}
    assert {c.contact_id for c in in_book} == {
        c.id for c in contacts if c.updated >= cutoff and book_id in c.books
    }
    assert {c.contact_id for c in created} == {c.id for c in contacts if c.created >= cutoff}
    assert 0 < len(in_book) < len(modified) < 400
    first = parse_qs(state.counters.calls("GET", CONTACTS)[0].query)
    assert first["~modified"][0].startswith("gte::") and first["~modified"][0].endswith("Z")
    with pytest.raises(ValueError, match="~modified and ~created"):
        next(client.iter_contacts(modified_since=when(cutoff), created_since=when(cutoff)))


def test_v3_the_same_marker_twice_is_a_loop(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.populate(SeedSpec(contacts=30))
    state.stuck_marker = True
    with pytest.raises(PagingLoopError, match="marker"):
        list(client.iter_contacts(limit=10))
    assert state.counters.count("GET", CONTACTS) == 2


def test_v3_paging_is_lazy(client: DotdigitalClient, state: DotdigitalState) -> None:
    state.populate(SeedSpec(contacts=30))
    assert next(client.iter_contacts(limit=10)).contact_id > 0
    assert state.counters.count("GET", CONTACTS) == 1


# Rate limits and failures in the middle of a walk ------------------------------------------


def test_429_storm_in_the_middle_of_v3_paging(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.populate(SeedSpec(contacts=300))
    contacts = client.iter_contacts(limit=100)
    first_page = list(islice(contacts, 100))
    state.throttle_next(4, reset_in=9)

    rest = list(contacts)

    assert len(first_page) + len(rest) == 300
    assert [c.status for c in state.counters.calls("GET", CONTACTS)] == [200] + [429] * 4 + [
        200,
        200,
    ]
    assert sandbox_clock.sleeps == [9.0] * 4


def test_legacy_usage_limit_in_the_middle_of_v2_paging(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.populate(SeedSpec(contacts=300, suppressed=250))
    since = when(sandbox_clock.now() - 400 * DAY)
    rows = client.iter_suppressions_since(since, select=100)
    first = list(islice(rows, 100))
    state.throttle_next(2, legacy=True)

    rest = list(rows)

    assert len(first) + len(rest) == 250
    statuses = [c.status for c in state.counters.calls("GET", SUPPRESSED_SINCE)]
    assert statuses == [200, 400, 400, 200, 200]
    assert len(sandbox_clock.sleeps) == 2  # backoff: the legacy scheme says nothing about when


def test_per_minute_budget_during_a_long_walk_waits_for_each_window(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.populate(SeedSpec(contacts=500))
    state.set_rate_limit(2, window_seconds=60)
    assert len(list(client.iter_contacts(limit=100))) == 500
    assert state.counters.count("GET", CONTACTS, status=200) == 5
    assert state.counters.count("GET", CONTACTS, status=429) == 2
    assert all(0 < wait <= 60 for wait in sandbox_clock.sleeps)


def test_server_errors_and_drops_in_the_middle_of_paging_are_retried(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    seeded = state.populate(SeedSpec(contacts=300, address_books=(300,)))
    rows = client.iter_address_book_contacts(seeded.address_book_ids[0], select=100)
    first = list(islice(rows, 100))
    state.faults.fail_next(503)
    state.faults.drop_next()
    state.faults.fail_next(500)

    rest = list(rows)

    assert len(first) + len(rest) == 300
    statuses = [c.status for c in state.counters.calls("GET", ADDRESS_BOOK_CONTACTS)]
    assert statuses == [200, 503, 0, 500, 200, 200, 200]  # the last page is empty


def test_persistent_failure_in_the_middle_of_paging_is_a_typed_error(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.populate(SeedSpec(contacts=300))
    contacts = client.iter_contacts(limit=100)
    list(islice(contacts, 100))
    state.faults.set_error_rate(503, 1.0)
    with pytest.raises(RetriesExhausted, match=r"GET /contacts/v3 still failing after 5 attempts"):
        list(contacts)
    assert state.counters.count("GET", CONTACTS) == 1 + TEST_MAX_RETRIES + 1
