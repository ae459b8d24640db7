"""The Service Bus adapter at the SDK boundary (no Service Bus emulator runs without Docker):
real SDK message and batch objects, a sender that records what it was asked to send."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusMessageBatch,
    ServiceBusReceivedMessage,
)
from azure.servicebus._pyamqp.message import Message, Properties
from azure.servicebus.exceptions import ServiceBusConnectionError

from shared.messaging.contract import SyncRequest, Trigger
from shared.messaging.service_bus import ServiceBusAdapter
from shared.runtime import Runtime
from shared.settings import Settings
from shared.sync_types import SyncType

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class RecordingSender:
    def __init__(self, batch_bytes: int) -> None:
        self.batch_bytes = batch_bytes
        self.sent: list[list[ServiceBusMessage]] = []
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def create_message_batch(self) -> ServiceBusMessageBatch:
        return ServiceBusMessageBatch(max_size_in_bytes=self.batch_bytes)

    def send_messages(self, message: ServiceBusMessage | ServiceBusMessageBatch) -> None:
        if isinstance(message, ServiceBusMessageBatch):
            self.sent.append(list(message._messages))
        else:
            self.sent.append([message])


def _request(n: int) -> SyncRequest:
    return SyncRequest(
        account_id="acme", sync_type=SyncType.CRM_METADATA, run_id=f"run{n}",
        trigger=Trigger.SCHEDULED, enqueued_utc=NOW,
    )  # fmt: skip


def test_batches_split_when_full_and_carry_message_ids() -> None:
    sender = RecordingSender(batch_bytes=1200)
    ServiceBusAdapter(lambda: sender).send([_request(n) for n in range(7)])

    assert len(sender.sent) > 1
    messages = [m for batch in sender.sent for m in batch]
    assert [m.message_id for m in messages] == [f"run{n}-0" for n in range(7)]
    first = messages[0]
    assert first.content_type == "application/json"
    assert first.application_properties is not None
    assert first.application_properties["syncType"] == "CrmMetadata"
    assert json.loads(str(first))["run_id"] == "run0"


def test_continuations_use_scheduled_enqueue() -> None:
    sender = RecordingSender(batch_bytes=262144)
    adapter = ServiceBusAdapter(lambda: sender, clock=lambda: NOW)

    adapter.send_later(_request(1).follow_up(Trigger.CONTINUATION, NOW), timedelta(seconds=30))

    [[message]] = sender.sent
    assert message.message_id == "run1-1"
    assert message.scheduled_enqueue_time_utc == NOW + timedelta(seconds=30)


def test_one_sender_serves_every_send_and_continuation_until_closed() -> None:
    opened: list[RecordingSender] = []
    client_closed: list[bool] = []

    def open_sender() -> RecordingSender:
        opened.append(RecordingSender(batch_bytes=262144))
        return opened[-1]

    adapter = ServiceBusAdapter(open_sender, clock=lambda: NOW,
                                on_close=lambda: client_closed.append(True))  # fmt: skip
    for tick in range(3):
        adapter.send([_request(10 * tick + n) for n in range(5)])
    for n in range(4):
        adapter.send_later(_request(n).follow_up(Trigger.CONTINUATION, NOW), timedelta(seconds=1))

    assert len(opened) == 1
    assert sum(len(batch) for batch in opened[0].sent) == 15 + 4
    adapter.close()
    assert opened[0].closed and client_closed == [True]


def test_from_settings_opens_one_sender_per_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real client's get_queue_sender, counted: a tick's and a worker's sends share one."""
    senders: list[RecordingSender] = []

    def get_queue_sender(self: ServiceBusClient, queue_name: str) -> RecordingSender:
        assert queue_name == "sync-requests"
        senders.append(RecordingSender(batch_bytes=262144))
        return senders[-1]

    monkeypatch.setattr(ServiceBusClient, "get_queue_sender", get_queue_sender)
    settings = Settings(
        ServiceBusConnection="Endpoint=sb://sandbox.invalid/;SharedAccessKeyName=test;"
        "SharedAccessKey=test",
        SYNC_QUEUE_BACKEND="ServiceBus",
    )
    runtime = Runtime(settings, clock=lambda: NOW)
    queue = runtime.queue

    queue.send([_request(n) for n in range(3)])  # a tick
    queue.send([_request(n) for n in range(3, 6)])  # the next tick
    queue.send_later(_request(1).follow_up(Trigger.CONTINUATION, NOW), timedelta(seconds=1))

    assert len(senders) == 1
    runtime.close()
    assert senders[0].closed


def test_threads_sending_at_once_share_one_sender() -> None:
    opened: list[RecordingSender] = []
    adapter = ServiceBusAdapter(lambda: opened.append(RecordingSender(262144)) or opened[-1])  # type: ignore[func-returns-value]

    def send(n: int) -> None:
        adapter.send_later(_request(n), timedelta(seconds=1))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, range(200)))

    assert len(opened) == 1 and len(opened[0].sent) == 200


def test_nothing_to_send_opens_no_sender() -> None:
    opened = []
    ServiceBusAdapter(lambda: opened.append(1) or RecordingSender(1000)).send([])  # type: ignore[func-returns-value]
    assert opened == []


class DeadLetterQueue:
    """A fake of the SDK's receiver on the dead-letter sub-queue, holding real received
    messages: peek pages by sequence number; receive locks, complete removes, abandon unlocks."""

    def __init__(self, bodies: list[str]) -> None:
        self.messages = [_dead_lettered(n + 1, body) for n, body in enumerate(bodies)]
        self.locked: set[int] = set()
        self.abandoned = 0
        self.closed = 0

    def peek_messages(
        self, max_message_count: int = 1, *, sequence_number: int = 0
    ) -> list[ServiceBusReceivedMessage]:
        start = sequence_number or 1
        ahead = [m for m in self.messages if (m.sequence_number or 0) >= start]
        return ahead[:max_message_count]

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[ServiceBusReceivedMessage]:
        free = [m for m in self.messages if m.sequence_number not in self.locked]
        page = free[: max_message_count or 1]
        self.locked |= {m.sequence_number or 0 for m in page}
        return page

    def complete_message(self, message: ServiceBusReceivedMessage) -> None:
        assert message.sequence_number in self.locked
        self.messages.remove(message)
        self.locked.discard(message.sequence_number or 0)

    def abandon_message(self, message: ServiceBusReceivedMessage) -> None:
        assert message.sequence_number in self.locked
        self.locked.discard(message.sequence_number or 0)
        self.abandoned += 1

    def close(self) -> None:
        self.closed += 1


def _dead_lettered(number: int, body: str) -> ServiceBusReceivedMessage:
    amqp = Message(
        data=[body.encode()],
        properties=Properties(message_id=f"m{number}"),
        message_annotations={b"x-opt-sequence-number": number,
                             b"x-opt-enqueued-time": 1_795_000_000_000},
        application_properties={
            b"DeadLetterReason": b"MaxDeliveryCountExceeded",
            b"DeadLetterErrorDescription": b"Message could not be consumed after 5 delivery "
                                           b"attempts.",
        },
    )  # fmt: skip
    return ServiceBusReceivedMessage(amqp, receiver=object())


def test_dead_letters_are_peeked_page_by_page_with_their_reason() -> None:
    dlq = DeadLetterQueue([_request(n).to_json() for n in range(120)])
    adapter = ServiceBusAdapter(lambda: RecordingSender(10_000), dead_letter_receiver=lambda: dlq)

    letters = adapter.dead_letters(limit=110)

    assert [letter.letter_id for letter in letters] == [str(n) for n in range(1, 111)]
    assert letters[0].reason == (
        "MaxDeliveryCountExceeded: Message could not be consumed after 5 delivery attempts."
    )
    assert SyncRequest.parse(letters[0].body) == _request(0)
    assert letters[0].enqueued_utc is not None
    assert dlq.locked == set() and dlq.closed == 1  # a peek takes nothing


def test_a_replay_resends_under_a_new_message_id_then_completes_only_that_dead_letter() -> None:
    dlq = DeadLetterQueue([_request(n).to_json() for n in range(45)])
    sender = RecordingSender(10_000)
    adapter = ServiceBusAdapter(lambda: sender, dead_letter_receiver=lambda: dlq)

    assert adapter.replay_dead_letter("42", _request(41))

    [[message]] = sender.sent
    assert SyncRequest.parse(str(message)) == _request(41)
    # Duplicate detection would drop the original id ("run41-0") within its window.
    assert message.message_id == "run41-0-replay-42"
    assert "42" not in [str(m.sequence_number) for m in dlq.messages]
    assert len(dlq.messages) == 44 and dlq.locked == set() and dlq.abandoned == 44
    assert not adapter.replay_dead_letter("42", _request(41))  # gone: sends nothing
    assert len(sender.sent) == 1


def test_a_discard_completes_without_sending_and_a_failed_send_keeps_the_dead_letter() -> None:
    dlq = DeadLetterQueue([_request(n).to_json() for n in range(3)])

    class Refusing(RecordingSender):
        def send_messages(self, message: ServiceBusMessage | ServiceBusMessageBatch) -> None:
            raise ServiceBusConnectionError(message="the namespace is unreachable")

    adapter = ServiceBusAdapter(lambda: Refusing(10_000), dead_letter_receiver=lambda: dlq)
    with pytest.raises(ServiceBusConnectionError):
        adapter.replay_dead_letter("2", _request(1))
    assert len(dlq.messages) == 3 and dlq.locked == set()

    assert adapter.discard_dead_letter("2")
    assert [m.sequence_number for m in dlq.messages] == [1, 3]
