"""Whether a table's initial load goes by file: the count reads ids a page at a time and stops
at the threshold (Dataverse's `$count` stops at 5,000)."""

from __future__ import annotations

from urllib.parse import unquote

from shared.clients import DataverseClient
from shared.sync.adobe.file_load_phase import holds_at_least
from tests.fixtures.sandboxes import DataverseSandbox
from tests.sync.adobe.file_load_world import add_contacts


def test_the_count_reads_ids_only_up_to_the_threshold(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    add_contacts(dataverse_sandbox, 450)
    counters = dataverse_sandbox.state.counters

    counters.reset()
    assert holds_at_least(dataverse_client, "contact", "contactid", 150, page_size=100)
    reads = [c for c in counters.calls("GET") if c.path.endswith("/contacts")]
    assert len(reads) == 2  # stopped on the second page of 100
    assert all("select=contactid" in unquote(c.query) for c in reads)

    counters.reset()
    assert holds_at_least(dataverse_client, "contact", "contactid", 450, page_size=100)
    assert not holds_at_least(dataverse_client, "contact", "contactid", 451, page_size=100)
