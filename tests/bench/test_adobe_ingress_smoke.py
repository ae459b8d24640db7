"""The ProfileIngress benchmark still runs and still counts right, at a small size: every
contact becomes one profile equal to it, the initial load costs two Campaign calls a contact
(the key read, then the create) and the 1% increment two a changed contact (read, patch),
never the times: `python -m bench.adobe_ingress` reports those."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.adobe_ingress import render, run

SIZE = 600


def _campaign_calls(calls: dict[str, int], method: str) -> int:
    prefix = f"Adobe Campaign {method} "
    return sum(n for route, n in calls.items() if route.startswith(prefix) and "/profile" in route)


def test_the_initial_load_and_the_increment_send_two_calls_a_record() -> None:
    result = run(SIZE, memory=False)

    assert result.delivered, (result.verdict, [p.audit_message for p in result.phases])
    initial, increment = result.phases
    assert initial.counts["created"] == SIZE and increment.counts["updated"] == SIZE // 100
    assert _campaign_calls(initial.calls, "GET") == SIZE  # the key read
    assert _campaign_calls(initial.calls, "POST") == SIZE
    assert _campaign_calls(increment.calls, "GET") == SIZE // 100
    assert _campaign_calls(increment.calls, "PATCH") == SIZE // 100
    meta = {"command": "test", "started": datetime.now(UTC), "seconds": 1.0, "load": "0"}
    assert "| initial load | 600 |" in render(result, meta)


def test_with_a_field_through_a_lookup_each_page_adds_one_batch_and_titles_are_right() -> None:
    result = run(SIZE, memory=False, linked=True)

    assert result.delivered, (result.verdict, [p.audit_message for p in result.phases])
    initial, increment = result.phases
    batch = "Dataverse POST /api/data/v9.2/$batch"
    pages = initial.calls["Dataverse GET /api/data/v9.2/contacts"]
    assert pages == 2 and initial.calls[batch] == pages  # 600 contacts: pages of 500
    assert increment.calls[batch] == 1
