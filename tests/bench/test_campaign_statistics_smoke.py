"""The CampaignStatistics benchmark still runs and still counts right, at a small size.

It runs the real benchmark case (a sandbox process, fresh tables in the session's Azurite, the
worker) with one campaign sent to 4,500 contacts, so the send summaries take three pages and
their writes several `$batch`es, and checks the calls against the page-by-page protocol
minimum and the rows the sandbox holds, never the times: `python -m bench.campaign_statistics`
reports those.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bench.calls import DOTDIGITAL
from bench.campaign_statistics import render, run_size
from shared.azurite import AzuriteProcess

SIZE = 4_500


def test_a_detailed_first_run_sends_the_page_minimum_and_writes_each_row_once(
    azurite: AzuriteProcess,
) -> None:
    result = run_size(SIZE, azurite, traced=False)

    assert result.audit_status == "Completed", result.audit_message
    assert result.delivered, result.verdict  # every platform row once, in its table
    assert result.verdict.bound >= SIZE * 0.8 - 1  # the contacts and leads were found by email
    assert sum(result.calls.values()) == result.page_minimum()
    assert result.count(DOTDIGITAL, "/activities/since-date/") == SIZE // 2000 + 1
    assert "| 4,500 |" in render([result], meta=_meta())


def _meta() -> dict[str, object]:
    return {"command": "test", "started": datetime.now(UTC), "seconds": 1.0, "load": "0"}
