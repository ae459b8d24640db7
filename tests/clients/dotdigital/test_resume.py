"""Dotdigital reads that stop after a page and continue later from the position that page gave
(v3 marker, v2 skip), against the sandbox with exchanges validated against the OpenAPI. The
position goes through JSON, as a checkpoint stores it; the request counters show that a
continuation requests each later page once and never an earlier one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from urllib.parse import parse_qs

import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital import ADDRESS_BOOK_CONTACTS, CONTACTS, DotdigitalState, SeedSpec
from shared.clients import DotdigitalClient, PagingLoopError

DAY = 86_400


def stored(position: Any) -> Any:
    """The position as a checkpoint gives it back (JSON out and in)."""
    assert position is not None
    return json.loads(json.dumps(position))


def queries(state: DotdigitalState, template: str) -> list[dict[str, list[str]]]:
    return [parse_qs(call.query) for call in state.counters.calls("GET", template)]


# v3 marker -------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3])
def test_v3_read_continued_from_a_marker_requests_each_later_page_once(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock, k: int
) -> None:
    seeded = state.populate(SeedSpec(contacts=600, address_books=(400,)))
    since = datetime.fromtimestamp(sandbox_clock.now() - 60 * DAY, UTC)
    book_id = seeded.address_book_ids[0]

    def read(marker: str | None = None) -> Any:
        return client.iter_contacts(
            modified_since=since, list_id=book_id, include=(), limit=40, marker=marker
        ).pages()

    whole = list(read())
    assert len(whole) >= k + 2
    state.counters.reset()

    before = list(islice(read(), k))
    after = list(read(stored(before[-1].resume)))

    ids = [c.contact_id for p in before + after for c in p.items]
    assert ids == [c.contact_id for p in whole for c in p.items]
    assert after[-1].resume is None
    sent = queries(state, CONTACTS)
    assert len(sent) == len(whole)  # every page once
    markers = [q.get("marker", [None])[0] for q in sent]
    assert markers[0] is None and None not in markers[1:] and len(set(markers)) == len(sent)
    # The continuation sends the same filters with the marker.
    assert {(q["~modified"][0], q["~listId"][0], q["limit"][0]) for q in sent} == {
        (sent[0]["~modified"][0], str(book_id), "40")
    }


def test_v3_continued_read_still_stops_on_a_marker_that_does_not_advance(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.populate(SeedSpec(contacts=50))
    (first,) = islice(client.iter_contacts(limit=10).pages(), 1)
    state.stuck_marker = True
    state.counters.reset()

    with pytest.raises(PagingLoopError, match="marker"):
        list(client.iter_contacts(limit=10, marker=stored(first.resume)))

    # Page 2 answered with the marker it was reached by: not requested again.
    assert state.counters.count("GET", CONTACTS) == 1


# v2 skip ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "k", "later_skips"),
    [
        (250, 1, ["100", "200"]),
        (250, 2, ["200"]),
        (200, 2, ["200"]),  # full pages: the continuation is the one empty page that ends it
    ],
)
def test_v2_read_continued_from_a_skip_requests_each_later_page_once(
    client: DotdigitalClient, state: DotdigitalState, members: int, k: int, later_skips: list[str]
) -> None:
    seeded = state.populate(SeedSpec(contacts=members, address_books=(members,)))
    book_id = seeded.address_book_ids[0]
    whole = [c.id for c in client.iter_address_book_contacts(book_id, select=100)]
    state.counters.reset()

    before = list(islice(client.iter_address_book_contacts(book_id, select=100).pages(), k))
    position = stored(before[-1].resume)
    state.counters.reset()
    after = list(client.iter_address_book_contacts(book_id, select=100, skip=position).pages())

    assert [c.id for p in before + after for c in p.items] == whole
    assert [q["skip"][0] for q in queries(state, ADDRESS_BOOK_CONTACTS)] == later_skips
    assert after[-1].resume is None


def test_v2_continued_read_still_stops_on_a_server_ignoring_skip(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=40, address_books=(40,)))
    state.ignore_skip = True

    with pytest.raises(PagingLoopError, match=r"same page .* skip=10 and skip=20"):
        list(client.iter_address_book_contacts(seeded.address_book_ids[0], select=10, skip=10))
    assert state.counters.count("GET", ADDRESS_BOOK_CONTACTS) == 2


def test_every_v2_read_starts_where_it_is_told(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.populate(SeedSpec(contacts=60, address_books=(5, 5, 5, 5), suppressed=12))
    since = datetime.fromtimestamp(sandbox_clock.now() - 400 * DAY, UTC)
    all_books = [b.id for b in client.iter_address_books()]
    all_suppressed = list(client.iter_suppressions_since(since))
    state.counters.reset()

    books = [b.id for b in client.iter_address_books(select=2, skip=2)]
    suppressed = list(client.iter_suppressions_since(since, select=5, skip=10))

    assert books == all_books[2:] and len(books) >= 2
    assert suppressed == all_suppressed[10:] and suppressed
    assert queries(state, "/v2/address-books")[0]["skip"] == ["2"]


def test_a_paged_read_is_consumed_one_way(client: DotdigitalClient, state: DotdigitalState) -> None:
    state.populate(SeedSpec(contacts=5))
    by_items = client.iter_contacts(limit=2)
    next(by_items)
    by_pages = client.iter_contacts(limit=2)
    next(by_pages.pages())

    with pytest.raises(RuntimeError, match="consumed once"):
        by_items.pages()
    with pytest.raises(RuntimeError, match="consumed once"):
        next(by_pages)
    assert state.counters.count("GET", CONTACTS) == 2
