"""The SuppressionLists benchmark still runs and still counts right, at a small size.

It runs the real benchmark case (a sandbox process, fresh tables in the session's Azurite, the
worker) with 2,300 suppressions, so pages and `$batch`es are more than one, and checks the
calls against the protocol minimum and the sandboxes' end state, never the times:
`python -m bench.suppression_lists` reports those.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bench.calls import DATAVERSE, DOTDIGITAL
from bench.suppression_lists import render, run_size
from shared.azurite import AzuriteProcess

SIZE = 2_300


def test_a_first_run_sends_the_protocol_minimum_and_writes_each_row_once(
    azurite: AzuriteProcess,
) -> None:
    result = run_size(SIZE, azurite, traced=False)

    assert result.audit_status == "Completed", result.audit_message
    assert result.delivered, result.verdict
    assert result.verdict.rows == result.verdict.matched_records > SIZE * 0.8
    pages = sum(n for (_, route), n in result.calls.items() if "suppressed-since" in route)
    assert pages == SIZE // 1000 + 1
    batches = result.count(DATAVERSE, "POST /api/data/v9.2/$batch")
    minimum = result.minimum()
    assert batches <= minimum["Dataverse lookup $batch"] + minimum["Dataverse write $batch"] + 3
    # Nothing but those: no call per suppression or per record on either side.
    assert sum(result.calls.values()) <= sum(minimum.values()) + 3
    assert result.count(DOTDIGITAL) == minimum["Dotdigital account-info"] + pages + 1
    assert "| 2,300 |" in render([result], meta=_meta())


def _meta() -> dict[str, object]:
    return {"command": "test", "started": datetime.now(UTC), "seconds": 1.0, "load": "0"}
