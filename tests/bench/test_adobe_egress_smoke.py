"""The EventEgress benchmark still runs and still counts right, at a small size.

It runs the real benchmark case (a sandbox process, fresh tables in the session's Azurite, the
worker) over a journal of 1,200 Campaign events, so the run reads three journal batches and
the end, and checks the calls against the protocol minimum and the rows the sandbox holds,
never the times: `python -m bench.adobe_egress` reports those.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bench.adobe_egress import render, run_size
from shared.azurite import AzuriteProcess

SIZE = 1_200


def test_a_run_reads_the_journal_in_batches_and_writes_each_event_once(
    azurite: AzuriteProcess,
) -> None:
    result = run_size(SIZE, azurite, traced=False)

    assert result.audit_status == "Completed", result.audit_message
    assert result.delivered, result.verdict  # each event's activity and task once
    assert sum(result.calls.values()) == sum(result.minimum().values())
    journal = sum(n for (_api, route), n in result.calls.items() if "/events/" in route)
    assert journal == 4  # 500 + 500 + 200, then the end
    meta = {"command": "test", "started": datetime.now(UTC), "seconds": 1.0, "load": "0"}
    assert "| 1,200 |" in render([result], meta=meta)
