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


def test_dead_letters_are_listed_and_one_is_replayed_or_discarded_leaving_the_others(
    settings: Settings,
) -> None:
    queue = StorageQueueAdapter.from_settings(settings)
    for n in range(3):
        queue.dead_letter(_request(n).to_json(), f"reason {n}")
    queue.poison.send_message("not a poison entry")  # a raw body, as Functions moves them

    letters = queue.dead_letters()
    assert [letter.reason for letter in letters] == ["reason 0", "reason 1", "reason 2", ""]
    assert letters[3].body == "not a poison entry"
    assert all(letter.enqueued_utc is not None for letter in letters)
    # Dead letters wait for an operator: they never expire (a queue message does after 7 days).
    expiry = [m.expires_on for m in queue.poison.peek_messages(max_messages=3)]
    assert all(e is not None and e.year == 9999 for e in expiry), expiry

    assert queue.replay_dead_letter(letters[1].letter_id, _request(1))
    assert not queue.replay_dead_letter(letters[1].letter_id, _request(1))  # gone: once only
    assert queue.discard_dead_letter(letters[3].letter_id)

    # The others are visible again at once (not hidden for the scan's 30 s).
    assert [letter.letter_id for letter in queue.dead_letters()] == [
        letters[0].letter_id, letters[2].letter_id,
    ]  # fmt: skip
    [resent] = queue.receive(max_messages=10, visibility=timedelta(seconds=30))
    assert SyncRequest.parse(resent.body) == _request(1)
