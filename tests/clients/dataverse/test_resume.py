"""Reads that stop after a page and continue later from the position that page gave, over real
HTTP: nextLinks, FetchXML paging cookies, change tracking (delta links) and list members. The
position goes through JSON, as a checkpoint stores it; the sandbox's request counters show that
a continuation requests each later page once and never an earlier one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qs

import pytest
from pydantic import BaseModel, TypeAdapter

from sandbox.dataverse import COLLECTION_TEMPLATE, NAVIGATION_TEMPLATE, ListSpec
from shared.clients import DataverseClient
from shared.clients.dataverse.changes import EXPIRED_REASON, ChangePage
from shared.clients.dataverse.fetchxml import FetchXmlPosition
from shared.clients.dataverse.lists import MemberPosition
from shared.clients.dataverse.paging import LinkPosition
from shared.errors import ApiError
from tests.fixtures.sandboxes import DataverseSandbox

SELECT = ["fullname", "emailaddress1"]
ACTIVE_BY_NAME = (
    "<fetch><entity name='contact'><attribute name='fullname' />"
    "<order attribute='fullname' />"
    "<filter><condition attribute='statecode' operator='eq' value='0' /></filter>"
    "</entity></fetch>"
)
P = TypeVar("P", bound=BaseModel)


def stored(position: P | None) -> P:
    """The position as a checkpoint gives it back: JSON out, a new object in."""
    assert position is not None
    text = position.model_dump_json()
    assert len(text) < 2048  # small enough for a Table property, with room to spare
    return type(position).model_validate_json(text)


def take(pages: Iterator[Any], count: int) -> list[Any]:
    return [next(pages) for _ in range(count)]


def ids(pages: list[Any]) -> list[str]:
    return [str(r["contactid"]) for page in pages for r in page.records]


def fetch_pages(dataverse_sandbox: DataverseSandbox) -> list[int]:
    """The `page` of every FetchXML request, in order."""
    numbers = []
    for call in dataverse_sandbox.state.counters.calls("GET", COLLECTION_TEMPLATE):
        fetch = parse_qs(call.query)["fetchXml"][0]
        numbers.append(int(fetch.split(' page="', 1)[1].split('"', 1)[0]))
    return numbers


# nextLink --------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 4])
def test_a_read_continued_after_page_k_requests_each_later_page_once(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, k: int
) -> None:
    dataverse_sandbox.state.seed_data(contacts=45)
    whole = list(dataverse_client.iter_pages("contacts", SELECT, page_size=10))
    counters = dataverse_sandbox.state.counters
    counters.reset()

    before = take(dataverse_client.iter_pages("contacts", SELECT, page_size=10), k)
    position = stored(before[-1].resume)
    assert counters.count("GET", COLLECTION_TEMPLATE) == k
    after = list(dataverse_client.iter_pages("contacts", SELECT, page_size=10, resume=position))

    assert [p.number for p in after] == list(range(k + 1, 6))
    assert ids(before + after) == ids(whole)
    assert after[-1].resume is None
    queries = [c.query for c in counters.calls("GET", COLLECTION_TEMPLATE)]
    assert len(queries) == 5 and len(set(queries)) == 5  # every page once, none again


def test_a_continued_read_still_stops_on_a_next_link_that_does_not_advance(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=50)
    (first,) = take(dataverse_client.iter_pages("contacts", ["fullname"], page_size=10), 1)
    dataverse_sandbox.state.repeat_next_link = True
    dataverse_sandbox.state.counters.reset()

    pages = dataverse_client.iter_pages(
        "contacts", ["fullname"], page_size=10, resume=stored(first.resume)
    )
    with pytest.raises(ApiError, match=r"same @odata\.nextLink twice .* \(after page 2\)"):
        list(pages)

    # Page 2 answered with the link it was reached by: not requested again.
    assert dataverse_sandbox.state.counters.count("GET", COLLECTION_TEMPLATE) == 1


def test_a_position_continues_only_the_read_it_came_from(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=30, accounts=30)
    (first,) = take(dataverse_client.iter_pages("contacts", ["fullname"], page_size=10), 1)
    dataverse_sandbox.state.counters.reset()

    with pytest.raises(ValueError, match="does not continue a read of accounts"):
        next(dataverse_client.iter_pages("accounts", ["name"], resume=first.resume))
    assert dataverse_sandbox.state.counters.total() == 0


# FetchXML paging cookie ------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2])
def test_a_fetchxml_read_continued_after_page_k_requests_each_later_page_once(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, k: int
) -> None:
    dataverse_sandbox.state.seed_data(contacts=120)
    whole = list(dataverse_client.iter_fetchxml_pages("contacts", ACTIVE_BY_NAME, page_size=30))
    assert len(whole) >= k + 2
    dataverse_sandbox.state.counters.reset()

    pages = dataverse_client.iter_fetchxml_pages("contacts", ACTIVE_BY_NAME, page_size=30)
    before = take(pages, k)
    position = stored(before[-1].resume)
    assert isinstance(position, FetchXmlPosition) and position.cookie  # paged by cookie
    after = list(
        dataverse_client.iter_fetchxml_pages(
            "contacts", ACTIVE_BY_NAME, page_size=30, resume=position
        )
    )

    assert ids(before + after) == ids(whole)
    assert [p.number for p in before + after] == list(range(1, len(whole) + 1))
    assert fetch_pages(dataverse_sandbox) == list(range(1, len(whole) + 1))
    assert after[-1].resume is None


def test_a_continued_fetchxml_read_still_stops_on_a_cookie_that_does_not_advance(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=120)
    pages = dataverse_client.iter_fetchxml_pages("contacts", ACTIVE_BY_NAME, page_size=20)
    (first,) = take(pages, 1)
    dataverse_sandbox.state.repeat_next_link = True
    dataverse_sandbox.state.counters.reset()

    with pytest.raises(ApiError, match="same FetchXML paging cookie twice"):
        list(
            dataverse_client.iter_fetchxml_pages(
                "contacts", ACTIVE_BY_NAME, page_size=20, resume=stored(first.resume)
            )
        )
    assert fetch_pages(dataverse_sandbox) == [2]


# Change tracking -------------------------------------------------------------------------------


def drain(pages: list[ChangePage]) -> tuple[list[str], list[str]]:
    upserts = [str(r["contactid"]) for p in pages for r in p.upserts]
    return upserts, [d for p in pages for d in p.deleted_ids]


def test_a_delta_read_continued_after_a_page_ends_with_the_same_changes_and_a_delta_link(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=40)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    list(first)
    for contact_id in seeded.contacts[:22]:
        state.update("contact", contact_id, {"jobtitle": "Changed"})
    for contact_id in seeded.contacts[30:33]:
        state.delete("contact", contact_id)
    whole = list(dataverse_client.read_changes("contacts", SELECT, first.delta_link, page_size=10))
    state.counters.reset()

    feed = dataverse_client.read_changes("contacts", SELECT, first.delta_link, page_size=10)
    before = take(iter(feed), 1)
    position = stored(before[-1].resume)
    assert (position.full_read, position.page) == (False, 2)
    rest = dataverse_client.read_changes("contacts", SELECT, None, page_size=10, resume=position)
    assert not rest.is_full_read and rest.full_resync_reason is None
    after = list(rest)

    assert drain(before + after) == drain(whole)
    assert [p.number for p in after] == [2, 3]
    assert after[-1].resume is None and after[-1].delta_link == rest.delta_link
    assert all(p.delta_link is None for p in before + after[:-1])
    queries = [c.query for c in state.counters.calls("GET", COLLECTION_TEMPLATE)]
    assert len(queries) == 3 and len(set(queries)) == 3
    # The link the continued read ends with serves the next run.
    assert drain(list(dataverse_client.read_changes("contacts", SELECT, rest.delta_link))) == (
        [],
        [],
    )


def test_a_full_read_continued_stays_a_full_read_with_tracking(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    seeded = dataverse_sandbox.state.seed_data(contacts=25)
    feed = dataverse_client.read_changes("contacts", SELECT, None, page_size=10)
    before = take(iter(feed), 1)
    position = stored(before[-1].resume)
    counters = dataverse_sandbox.state.counters
    counters.reset()

    rest = dataverse_client.read_changes("contacts", SELECT, None, page_size=10, resume=position)
    after = list(rest)

    assert rest.is_full_read and position.full_read
    assert sorted(drain(before + after)[0]) == sorted(seeded.contacts)
    calls = counters.calls("GET", COLLECTION_TEMPLATE)
    assert [c.headers["prefer"] for c in calls] == ["odata.track-changes,odata.maxpagesize=10"] * 2
    assert "$deltatoken=" in rest.delta_link


def test_a_continuation_refused_as_expired_falls_back_to_a_full_read(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=30)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    list(first)
    for contact_id in seeded.contacts[:15]:
        state.update("contact", contact_id, {"jobtitle": "Changed"})
    feed = dataverse_client.read_changes("contacts", SELECT, first.delta_link, page_size=10)
    position = stored(take(iter(feed), 1)[-1].resume)
    state.expire_change_tokens()
    state.counters.reset()

    rest = dataverse_client.read_changes("contacts", SELECT, None, page_size=10, resume=position)

    assert rest.is_full_read and rest.full_resync_reason == EXPIRED_REASON
    assert sorted(drain(list(rest))[0]) == sorted(seeded.contacts)
    statuses = [c.status for c in state.counters.calls("GET", COLLECTION_TEMPLATE)]
    assert statuses == [400, 200, 200, 200]


# List members ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_list_members_continued_after_a_page_are_each_read_once(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, dynamic: bool
) -> None:
    state = dataverse_sandbox.state
    spec = ListSpec("Seattle", "contact", dynamic=True) if dynamic else ("News", "contact", 45)
    seeded = state.seed_data(contacts=400, lists=[spec])
    mlist = dataverse_client.get_marketing_list(next(iter(seeded.lists.values())))
    assert mlist is not None
    select = ["fullname", "_parentcustomerid_value"]
    whole = list(dataverse_client.iter_list_members(mlist, select, page_size=10))
    assert len(whole) >= 3
    state.counters.reset()

    before = take(dataverse_client.iter_list_members(mlist, select, page_size=10), 2)
    # The position as the list push stores it: one field that takes either kind.
    adapter: TypeAdapter[MemberPosition] = TypeAdapter(MemberPosition)
    position = adapter.validate_json(adapter.dump_json(before[-1].resume))
    assert isinstance(position, FetchXmlPosition if dynamic else LinkPosition)
    after = list(dataverse_client.iter_list_members(mlist, select, page_size=10, resume=position))

    assert ids(before + after) == ids(whole)
    template = COLLECTION_TEMPLATE if dynamic else NAVIGATION_TEMPLATE
    assert state.counters.count("GET", template) == len(whole)
    if dynamic:
        assert fetch_pages(dataverse_sandbox) == list(range(1, len(whole) + 1))


def test_a_position_of_the_other_kind_of_list_is_refused_before_any_request(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    seeded = dataverse_sandbox.state.seed_data(
        contacts=50, lists=[("News", "contact", 5), ListSpec("Seattle", "contact", dynamic=True)]
    )
    static = dataverse_client.get_marketing_list(seeded.lists["News"])
    dynamic = dataverse_client.get_marketing_list(seeded.lists["Seattle"])
    assert static is not None and dynamic is not None
    dataverse_sandbox.state.counters.reset()
    link = LinkPosition(next_link=f"{dataverse_sandbox.url}/api/data/v9.2/contacts?$skiptoken=x")

    with pytest.raises(ValueError, match="FetchXML position cannot continue static list"):
        next(
            dataverse_client.iter_list_members(
                static, ["fullname"], resume=FetchXmlPosition(page=2)
            )
        )
    with pytest.raises(ValueError, match="nextLink position cannot continue dynamic list"):
        next(dataverse_client.iter_list_members(dynamic, ["fullname"], resume=link))
    with pytest.raises(ValueError, match="does not continue a read of lists"):
        next(dataverse_client.iter_list_members(static, ["fullname"], resume=link))
    assert dataverse_sandbox.state.counters.total() == 0
