"""The bulk-write benchmark still runs and still counts right, at a small size.

It runs the real benchmark (sandbox processes, the product's client, counted requests) and
checks counts only: both paths send ceil(records / chunk) write requests, the sandbox counts
the same, every contact is updated. No timing assertions: `python -m bench.dataverse_bulk`
reports wall time and memory.
"""

from __future__ import annotations

import math

import pytest

from bench.dataverse_bulk import BATCH, BULK, CaseResult, render_markdown, run_benchmark

RECORDS = 1_500
CHUNK = 500


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    return run_benchmark([RECORDS], chunk_size=CHUNK, memory="off")


def test_both_paths_update_every_contact_in_as_many_requests_as_chunks(
    results: list[CaseResult],
) -> None:
    assert [(r.records, r.path) for r in results] == [(RECORDS, BULK), (RECORDS, BATCH)]
    for result in results:
        assert result.requests == result.server_requests == math.ceil(RECORDS / CHUNK)
        assert (result.updated, result.failures) == (RECORDS, 0)
        assert result.peak_bytes is None  # memory off


def test_the_bulk_message_sends_fewer_bytes_than_batch_parts(results: list[CaseResult]) -> None:
    bulk, batch = results
    # A JSON target per record against a multipart part with its own HTTP head per record.
    assert bulk.bytes_sent < batch.bytes_sent


def test_the_report_renders(results: list[CaseResult]) -> None:
    markdown = render_markdown(results, chunk_size=CHUNK, memory="off")
    assert "| 1,500 | UpdateMultiple | 3 | 3 |" in markdown
    assert "| 1,500 | $batch | 3 | 3 |" in markdown
