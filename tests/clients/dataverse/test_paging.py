"""Reading tables page by page over real HTTP: maxpagesize, $select, nextLinks followed as
given, constant memory, loop detection, and faults in the middle of a read."""

from __future__ import annotations

import gc
import tracemalloc
from urllib.parse import parse_qs, unquote

import pytest

from sandbox.clock import ManualClock
from sandbox.dataverse import COLLECTION_TEMPLATE
from shared.clients import DataverseClient
from shared.errors import ApiError, RetriesExhausted
from tests.fixtures.sandboxes import DataverseSandbox

SELECT = ["fullname", "emailaddress1"]


def contact_reads(sandbox: DataverseSandbox) -> list[tuple[int | None, str, dict[str, str]]]:
    calls = sandbox.state.counters.calls("GET", COLLECTION_TEMPLATE)
    return [(c.status, c.query, c.headers) for c in calls]


def test_twelve_thousand_rows_in_thirteen_pages_each_row_once(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    seeded = dataverse_sandbox.state.seed_data(contacts=12_345)

    sizes = []
    seen: set[str] = set()
    for page in dataverse_client.iter_pages("contacts", SELECT, page_size=1000):
        sizes.append(len(page.records))
        seen.update(record["contactid"] for record in page.records)

    assert sizes == [1000] * 12 + [345]
    assert seen == set(seeded.contacts)
    reads = contact_reads(dataverse_sandbox)
    assert len(reads) == 13
    assert all(status == 200 for status, _, _ in reads)
    # Every request, first and followed links alike, asks for the same page size.
    assert {headers["prefer"] for _, _, headers in reads} == {"odata.maxpagesize=1000"}


def test_select_is_on_the_wire_and_the_primary_key_comes_back(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=3)

    records = list(
        dataverse_client.iter_records("contacts", SELECT, filter="statecode eq 0 or statecode eq 1")
    )

    (_, query, headers), *_ = contact_reads(dataverse_sandbox)
    assert (
        query
        == "$select=fullname,emailaddress1&$filter=statecode%20eq%200%20or%20statecode%20eq%201"
    )
    assert headers["prefer"] == "odata.maxpagesize=5000"
    assert [list(r) for r in records] == [
        ["@odata.etag", "fullname", "emailaddress1", "contactid"]
    ] * 3


def test_next_links_are_followed_exactly_as_given(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=25)

    pages = list(dataverse_client.iter_pages("contacts", ["fullname"], page_size=10))

    assert [len(p.records) for p in pages] == [10, 10, 5]
    first, second, third = contact_reads(dataverse_sandbox)
    assert "$skiptoken" not in first[1]
    for _, query, _ in (second, third):
        options = parse_qs(query)
        assert options["$select"] == ["fullname"]
        cookie = options["$skiptoken"][0]
        assert cookie.startswith('<cookie pagenumber="') and cookie.endswith(
            'istracking="False" />'
        )
        assert "%3ccontactid%20last%3d%22%7b" in cookie  # the inner cookie, encoded once more
    assert 'pagenumber="3"' in unquote(third[1])


def test_filter_pages_only_matching_rows(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    state.seed_data(contacts=200)
    inactive = [
        r["contactid"]
        for r in (state.row("contact", i) for i in state.table("contact").rows)
        if r and r["statecode"] == 1
    ]

    found = [
        r["contactid"]
        for r in dataverse_client.iter_records(
            "contacts", ["statecode"], filter="statecode eq 1", page_size=3
        )
    ]

    assert sorted(found) == sorted(inactive)
    assert inactive


def test_ordered_pages_continue_in_order_and_the_first_page_carries_the_count(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    for n in range(7):
        dataverse_sandbox.state.insert("contact", {"lastname": f"Name {n}"})

    pages = list(dataverse_client.iter_pages(
        "contacts", ["lastname"], page_size=3, order_by="lastname desc", count=True
    ))  # fmt: skip

    names = [r["lastname"] for page in pages for r in page.records]
    assert names == [f"Name {n}" for n in range(6, -1, -1)]
    assert pages[0].count == 7
    (_, query, _), *_ = contact_reads(dataverse_sandbox)
    assert parse_qs(query)["$orderby"] == ["lastname desc"]


def test_pages_are_not_accumulated(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=6_000)
    pages = dataverse_client.iter_pages("contacts", SELECT, page_size=500)
    next(pages)  # token, connections and the first page out of the way
    gc.collect()
    tracemalloc.start()
    try:
        footprint = []
        for _ in pages:
            gc.collect()
            footprint.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()

    assert len(footprint) == 11
    one_page = footprint[0]
    # Holding every page would grow by ~10 pages; streaming stays about one page big.
    assert max(footprint) < one_page * 2.5


def test_a_next_link_served_twice_is_an_error_not_a_loop(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=50)
    dataverse_sandbox.state.repeat_next_link = True

    with pytest.raises(ApiError, match=r"same @odata\.nextLink twice while reading contacts"):
        for _ in dataverse_client.iter_pages("contacts", ["fullname"], page_size=10):
            pass

    # Page 1, then page 2 answering with the link it was reached by: not requested again.
    assert len(contact_reads(dataverse_sandbox)) == 2


def test_429_storm_mid_read_waits_what_retry_after_says(
    dataverse_sandbox: DataverseSandbox,
    dataverse_client: DataverseClient,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.seed_data(contacts=30)
    pages = dataverse_client.iter_pages("contacts", ["fullname"], page_size=10)
    first = next(pages)
    dataverse_sandbox.state.throttle_next(3, retry_after=7)

    rest = list(pages)

    assert len(first.records) + sum(len(p.records) for p in rest) == 30
    assert sandbox_clock.sleeps == [7.0, 7.0, 7.0]
    statuses = [status for status, _, _ in contact_reads(dataverse_sandbox)]
    assert statuses == [200, 429, 429, 429, 200, 200]


@pytest.mark.parametrize("fault", ["503", "drop"])
def test_server_errors_and_dropped_connections_mid_read_are_retried(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, fault: str
) -> None:
    seeded = dataverse_sandbox.state.seed_data(contacts=40)
    pages = dataverse_client.iter_pages("contacts", ["fullname"], page_size=10)
    ids = [r["contactid"] for r in next(pages).records]
    faults = dataverse_sandbox.state.faults
    if fault == "503":
        faults.fail_next(503, 2)
    else:
        faults.drop_next(2)

    for page in pages:
        ids.extend(r["contactid"] for r in page.records)

    assert sorted(ids) == sorted(seeded.contacts)
    assert len(ids) == 40


def test_persistent_failure_mid_read_names_the_page(
    dataverse_sandbox: DataverseSandbox,
    dataverse_client: DataverseClient,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.seed_data(contacts=30)
    pages = dataverse_client.iter_pages("contacts", ["fullname"], page_size=10)
    next(pages)
    next(pages)
    dataverse_sandbox.state.faults.fail_next(503, 10)

    with pytest.raises(RetriesExhausted) as caught:
        next(pages)

    message = str(caught.value)
    assert message.startswith("Dataverse: GET contacts (page 3) still failing after 5 attempts")
    assert "HTTP 503" in message
    assert len(sandbox_clock.sleeps) == 4  # bounded: max_retries in the test policy


def test_bad_arguments_are_refused_before_any_request(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    with pytest.raises(ValueError, match="at least one column"):
        next(dataverse_client.iter_pages("contacts", []))
    with pytest.raises(ValueError, match="page_size"):
        next(dataverse_client.iter_pages("contacts", ["fullname"], page_size=5001))
    with pytest.raises(ValueError, match="column name"):
        next(dataverse_client.iter_pages("contacts", ["full name"]))
    assert dataverse_sandbox.state.counters.total() == 0


def test_unknown_column_is_an_api_error_with_the_service_message(
    dataverse_client: DataverseClient,
) -> None:
    with pytest.raises(ApiError) as caught:
        next(dataverse_client.iter_pages("contacts", ["nosuchcolumn"]))
    assert caught.value.status == 400
    assert "Could not find a property named 'nosuchcolumn'" in str(caught.value)
