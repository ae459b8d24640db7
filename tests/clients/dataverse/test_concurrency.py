"""The per-client concurrency cap: many threads share one client and the sandbox, which
refuses more than its limit of concurrent requests with the documented 429, never sees more
than the cap in flight."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.dataverse import COLLECTION_TEMPLATE
from shared.clients import DataverseClient
from shared.clients.dataverse.transport import DEFAULT_MAX_CONCURRENCY
from tests.fixtures.sandboxes import DataverseClientFactory, DataverseSandbox

THREADS = 12
READS_PER_THREAD = 3


def test_default_cap_is_well_under_the_documented_limit(
    dataverse_client: DataverseClient, make_dataverse_client: DataverseClientFactory
) -> None:
    assert dataverse_client.max_concurrency == DEFAULT_MAX_CONCURRENCY == 8
    with pytest.raises(ValueError, match="max_concurrency"):
        make_dataverse_client(max_concurrency=53)
    with pytest.raises(ValueError, match="max_concurrency"):
        make_dataverse_client(max_concurrency=0)


@pytest.mark.parametrize("cap", [3, 5])
def test_parallel_callers_stay_within_the_cap(
    dataverse_sandbox: DataverseSandbox, make_dataverse_client: DataverseClientFactory, cap: int
) -> None:
    state = dataverse_sandbox.state
    state.seed_data(contacts=20)
    state.concurrency_limit = cap  # any request past the cap would get 429 0x80072326
    state.faults.latency_seconds = 0.05  # long enough for requests to overlap
    client = make_dataverse_client(max_concurrency=cap)
    client.iter_pages("contacts", ["fullname"]).__next__()  # token first, outside the race
    state.max_in_flight = 0

    def read(_: int) -> int:
        return sum(
            len(page.records)
            for _ in range(READS_PER_THREAD)
            for page in client.iter_pages("contacts", ["fullname"])
        )

    with ThreadPoolExecutor(THREADS) as pool:
        totals = list(pool.map(read, range(THREADS)))

    assert totals == [20 * READS_PER_THREAD] * THREADS
    assert state.max_in_flight == cap  # reached, never passed
    assert state.concurrency_rejections == 0
    statuses = {c.status for c in state.counters.calls("GET", COLLECTION_TEMPLATE)}
    assert statuses == {200}
