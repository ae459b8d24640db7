"""The Service Bus adapter at the SDK boundary (no Service Bus emulator runs without Docker):
real SDK message and batch objects, a sender that records what it was asked to send."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from azure.servicebus import ServiceBusMessage, ServiceBusMessageBatch

from shared.messaging.contract import SyncRequest, Trigger
from shared.messaging.service_bus import ServiceBusAdapter
from shared.sync_types import SyncType

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class RecordingSender:
    def __init__(self, batch_bytes: int) -> None:
        self.batch_bytes = batch_bytes
        self.sent: list[list[ServiceBusMessage]] = []

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


def test_nothing_to_send_opens_no_sender() -> None:
    opened = []
    ServiceBusAdapter(lambda: opened.append(1) or RecordingSender(1000)).send([])  # type: ignore[func-returns-value]
    assert opened == []
