from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.messaging.contract import SyncRequest, Trigger
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.settings import Settings
from shared.sync_types import SyncType

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _request(n: int) -> SyncRequest:
    return SyncRequest(
        account_id="acme", sync_type=SyncType.DATA_LABELS, run_id=f"run{n}",
        trigger=Trigger.MANUAL, enqueued_utc=NOW,
    )  # fmt: skip


def test_send_receive_complete(settings: Settings) -> None:
    queue = StorageQueueAdapter.from_settings(settings)
    queue.send([_request(1), _request(2)])

    deliveries = queue.receive(max_messages=10, visibility=timedelta(seconds=30))
    assert sorted(SyncRequest.parse(d.body).run_id for d in deliveries) == ["run1", "run2"]
    assert all(d.dequeue_count == 1 for d in deliveries)
    for delivery in deliveries:
        queue.complete(delivery)
    assert queue.receive(max_messages=10, visibility=timedelta(seconds=1)) == []


def test_uncompleted_message_comes_back_after_visibility_timeout(settings: Settings) -> None:
    queue = StorageQueueAdapter.from_settings(settings)
    queue.send([_request(1)])
    [first] = queue.receive(max_messages=1, visibility=timedelta(seconds=1))

    assert queue.receive(max_messages=1, visibility=timedelta(seconds=1)) == []
    import time

    time.sleep(1.5)
    [again] = queue.receive(max_messages=1, visibility=timedelta(seconds=30))
    assert again.body == first.body and again.dequeue_count == 2


def test_send_later_is_invisible_until_due_and_poison_keeps_reason(settings: Settings) -> None:
    queue = StorageQueueAdapter.from_settings(settings)
    queue.send_later(_request(3), timedelta(seconds=60))
    assert queue.receive(max_messages=1, visibility=timedelta(seconds=1)) == []

    queue.dead_letter('{"broken": true}', "Invalid sync request: version: missing")
    assert queue.poison_messages() == [
        {"reason": "Invalid sync request: version: missing", "body": '{"broken": true}'}
    ]


def test_a_body_too_large_for_the_poison_queue_is_kept_cut_and_marked(settings: Settings) -> None:
    queue = StorageQueueAdapter.from_settings(settings)
    body = '{"sync_type": "' + "\u00e9" * 200_000 + '"}'  # 1.2 MB once escaped as JSON

    queue.dead_letter(body, "Invalid sync request: " + "x" * 100_000)

    [entry] = queue.poison_messages()
    assert body.startswith(entry["body"].removesuffix(" ... [truncated]"))
    assert entry["body"].endswith("[truncated]") and entry["reason"].endswith("[truncated]")
    assert entry["reason"].startswith("Invalid sync request: xxx")
