"""The contacts push benchmark still runs and still counts right, at a small size.

It runs the real benchmark function (sandbox processes, real clients, counted requests) and
checks call counts only: the efficient paths send exactly the protocol minimum (plus msal's
one metadata request), the capped one ceil(contacts / cap) imports, the naive one a read and a
write per record after listing the ids. No timing assertions: speed and memory are reported by
`python -m bench.contacts_push`, as ratios, never tested.

The naive case runs at 300 contacts, not 2,000: it costs about 3.5 ms per call on a 2-core
machine (two calls per contact), which alone would take the test past 15 s. Memory is not
traced here (tracemalloc about doubles the naive client's time).
"""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from bench.calls import DATAVERSE, DOTDIGITAL, ENTRA_ID, IMPORT_ROUTE
from bench.contacts_push import (
    ADD_TO_BOOK,
    BOUNDED,
    CONTACT_BY_ID,
    CONTACT_PAGES,
    FEWEST,
    MEMORY_OFF,
    NAIVE,
    OIDC_METADATA,
    TOKEN,
    Report,
    print_report,
    render_markdown,
    run_benchmark,
)

CONTACTS = 2_000
NAIVE_CONTACTS = 300
IMPORT_CAP = 500


@pytest.fixture(scope="module")
def report() -> Report:
    return run_benchmark(
        [CONTACTS],
        [NAIVE_CONTACTS],
        import_cap=IMPORT_CAP,
        poll_interval_seconds=0.01,
        memory=MEMORY_OFF,  # call counts are what this test checks
    )


def test_every_case_delivered_every_contact_and_both_sides_counted_alike(report: Report) -> None:
    assert [(r.case.kind, r.records) for r in report.results] == [
        (FEWEST, CONTACTS),
        (BOUNDED, CONTACTS),
        (NAIVE, NAIVE_CONTACTS),
    ]
    for result in report.results:
        assert result.outcome.contacts_with_email == result.records  # the seed gives everyone one
        assert result.all_delivered, result.case
        assert result.server_counts_match, result.case
        assert result.refused == {}, result.case


def test_the_efficient_paths_send_the_protocol_minimum(report: Report) -> None:
    fewest = report.result(FEWEST, CONTACTS)
    assert fewest is not None
    minimum = fewest.minimum
    assert (minimum.dataverse_pages, minimum.import_submits) == (1, 1)
    assert minimum.total == 5  # token, page, account-info, create book, import
    assert fewest.calls == fewest.expected_calls()
    assert fewest.total_without_polls == minimum.total + 1  # msal's OpenID metadata request
    assert fewest.count(ENTRA_ID, OIDC_METADATA) == 1
    assert fewest.polls == 2 * minimum.import_submits  # the sandbox answers NotFinished once
    # The sandbox's size of one body with every contact is what the client really sent.
    assert fewest.sent_single_body_bytes == fewest.outcome.single_import_body_bytes

    bounded = report.result(BOUNDED, CONTACTS)
    assert bounded is not None
    assert bounded.calls == bounded.expected_calls()
    submits = math.ceil(CONTACTS / IMPORT_CAP)
    assert bounded.count(DOTDIGITAL, IMPORT_ROUTE) == submits
    assert bounded.total_without_polls == minimum.total + 1 + (submits - 1)
    assert len(bounded.import_body_bytes) == submits
    assert max(bounded.import_body_bytes) < max(fewest.import_body_bytes)
    assert bounded.sent_single_body_bytes == bounded.outcome.single_import_body_bytes


def test_the_naive_path_makes_one_call_per_record_each_side(report: Report) -> None:
    naive = report.result(NAIVE, NAIVE_CONTACTS)
    assert naive is not None
    assert naive.calls == naive.expected_calls()
    assert naive.count(DATAVERSE, CONTACT_PAGES) == 1  # listing the ids
    assert naive.count(DATAVERSE, CONTACT_BY_ID) == NAIVE_CONTACTS
    assert naive.count(DOTDIGITAL, ADD_TO_BOOK) == NAIVE_CONTACTS
    assert naive.count(ENTRA_ID, TOKEN) == 1  # the token is cached across the 300 reads
    setup = 2 + 1 + 2  # Entra ID metadata + token, the id page, account-info + create book
    assert naive.total == setup + 2 * NAIVE_CONTACTS


def test_the_report_renders(report: Report) -> None:
    markdown = render_markdown(report)
    for heading in (
        "## Calls against the protocol minimum",
        "## Wall time and memory",
        "## Efficient against naive, per record",
        "## Which configuration the product should use",
        "## Requests by route",
    ):
        assert heading in markdown
    output = io.StringIO()
    print_report(report, Console(file=output, width=200))
    assert "Calls against the protocol minimum" in output.getvalue()
