"""Azure Service Bus adapter: message id for duplicate detection, batch send, scheduled enqueue.

In Azure the worker is fed by the Functions Service Bus trigger; this adapter is the sending
side (scheduler, Sync Now, continuations). Dead-lettering of a message the worker cannot use is
done by Service Bus itself after its max delivery count: `dead_letter` sends nothing here.

One sender per adapter, opened at the first send and kept: each sender holds an AMQP link (and,
with connection sharing off in azure-servicebus, a connection of its own), so a sender per send
would open a connection per message. Senders are not thread-safe: sends take a lock. `close()`
closes the sender and the client at shutdown.

Dead letters are read from the queue's dead-letter sub-queue with a receiver of their own,
opened per operation (an operator's command, not a hot path): peeked for a listing; for a
replay or a discard received in peek-lock mode until the one asked for is found (the others
are abandoned, unchanged, at the end), then completed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusMessageBatch,
    ServiceBusReceivedMessage,
    ServiceBusSubQueue,
)
from azure.servicebus.exceptions import MessageSizeExceededError

from shared.clock import Clock, utc_now
from shared.errors import ConfigurationError
from shared.messaging.contract import SyncRequest
from shared.messaging.port import MAX_DEAD_LETTERS, DeadLetter
from shared.settings import Settings

log = logging.getLogger(__name__)

PEEK_PAGE = 50  # dead letters per peek
RECEIVE_PAGE = 20  # dead letters per receive while looking for one
RECEIVE_WAIT_SECONDS = 5.0  # an empty dead-letter queue answers a receive after this
MAX_SCAN = 1_000  # dead letters looked through for one replay or discard


class Sender(Protocol):
    """The part of `azure.servicebus.ServiceBusSender` this adapter uses."""

    def create_message_batch(self) -> ServiceBusMessageBatch: ...

    def send_messages(self, message: ServiceBusMessage | ServiceBusMessageBatch) -> None: ...

    def close(self) -> None: ...


class DeadLetterReceiver(Protocol):
    """The part of `azure.servicebus.ServiceBusReceiver` (on the dead-letter sub-queue) used."""

    def peek_messages(
        self, max_message_count: int = 1, *, sequence_number: int = 0
    ) -> list[ServiceBusReceivedMessage]: ...

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[ServiceBusReceivedMessage]: ...

    def complete_message(self, message: ServiceBusReceivedMessage) -> None: ...

    def abandon_message(self, message: ServiceBusReceivedMessage) -> None: ...

    def close(self) -> None: ...


def to_message(request: SyncRequest) -> ServiceBusMessage:
    return ServiceBusMessage(
        request.to_json(),
        message_id=request.message_id,
        content_type="application/json",
        subject=f"{request.sync_type.value}:{request.trigger.value}",
        application_properties={
            "accountId": request.account_id,
            "syncType": request.sync_type.value,
            "contractVersion": request.version,
        },
    )


class ServiceBusAdapter:
    def __init__(
        self,
        sender_factory: Callable[[], Sender],
        clock: Clock = utc_now,
        *,
        on_close: Callable[[], None] | None = None,
        dead_letter_receiver: Callable[[], DeadLetterReceiver] | None = None,
    ) -> None:
        self._sender_factory = sender_factory
        self._dead_letter_receiver = dead_letter_receiver
        self._clock = clock
        self._on_close = on_close
        self._lock = threading.Lock()
        self._sender: Sender | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceBusAdapter:
        if settings.service_bus_connection_string is not None:
            client = ServiceBusClient.from_connection_string(
                settings.service_bus_connection_string.get_secret_value()
            )
        else:
            if not settings.service_bus_namespace:
                raise ConfigurationError(
                    "No Service Bus configured: set ServiceBusConnection (a connection string) "
                    "or ServiceBusConnection__fullyQualifiedNamespace (managed identity with the "
                    "Azure Service Bus Data Sender role), or SYNC_QUEUE_BACKEND=StorageQueue."
                )
            from shared.identity import azure_credential

            client = ServiceBusClient(
                settings.service_bus_namespace, credential=azure_credential(settings)
            )
        return cls(
            lambda: client.get_queue_sender(settings.queue_name),
            on_close=client.close,
            dead_letter_receiver=lambda: client.get_queue_receiver(
                settings.queue_name,
                sub_queue=ServiceBusSubQueue.DEAD_LETTER,
                max_wait_time=RECEIVE_WAIT_SECONDS,
            ),
        )

    def _open(self) -> Sender:
        """The adapter's sender (call with the lock held)."""
        if self._sender is None:
            self._sender = self._sender_factory()
        return self._sender

    def send(self, requests: Sequence[SyncRequest]) -> None:
        if not requests:
            return
        messages = [to_message(request) for request in requests]
        with self._lock:
            sender = self._open()
            batch = sender.create_message_batch()
            for message in messages:
                try:
                    batch.add_message(message)
                except MessageSizeExceededError:
                    sender.send_messages(batch)
                    batch = sender.create_message_batch()
                    batch.add_message(message)
            sender.send_messages(batch)

    def send_later(self, request: SyncRequest, delay: timedelta) -> None:
        message = to_message(request)
        message.scheduled_enqueue_time_utc = self._clock() + delay
        with self._lock:
            self._open().send_messages(message)

    def close(self) -> None:
        """Close the sender and the client (a later send opens a new sender)."""
        with self._lock:
            sender, self._sender = self._sender, None
            if sender is not None:
                sender.close()
            if self._on_close is not None:
                self._on_close()

    def dead_letter(self, body: str, reason: str) -> None:
        log.error("Sync request rejected (Service Bus dead-letters it after retries): %s", reason)

    def dead_letters(self, limit: int = MAX_DEAD_LETTERS) -> list[DeadLetter]:
        found: list[DeadLetter] = []
        receiver = self._receiver()
        try:
            next_number = 0  # 0: from the oldest
            while len(found) < limit:
                page = receiver.peek_messages(
                    min(PEEK_PAGE, limit - len(found)), sequence_number=next_number
                )
                if not page:
                    break
                found += [_dead_letter(m) for m in page]
                next_number = max(_number(m) for m in page) + 1
        finally:
            receiver.close()
        return found[:limit]

    def replay_dead_letter(self, letter_id: str, request: SyncRequest) -> bool:
        def resend(_: ServiceBusReceivedMessage) -> None:
            message = to_message(request)
            # Its own id: duplicate detection would drop the original's id within its window.
            # Replaying one dead letter twice (a crash before it was completed) is dropped.
            message.message_id = f"{request.message_id}-replay-{letter_id}"
            with self._lock:
                self._open().send_messages(message)

        return self._settle(letter_id, resend)

    def discard_dead_letter(self, letter_id: str) -> bool:
        return self._settle(letter_id, lambda _: None)

    def _settle(self, letter_id: str, action: Callable[[ServiceBusReceivedMessage], None]) -> bool:
        """Receive (lock) dead letters until `letter_id`, apply `action` to it and complete it;
        the others received on the way are abandoned (unlocked, unchanged) at the end."""
        receiver = self._receiver()
        passed: list[ServiceBusReceivedMessage] = []
        found = None
        try:
            while found is None and len(passed) < MAX_SCAN:
                page = receiver.receive_messages(RECEIVE_PAGE, RECEIVE_WAIT_SECONDS)
                if not page:
                    break
                for message in page:
                    if found is None and str(message.sequence_number) == letter_id:
                        found = message
                    else:
                        passed.append(message)
            if found is not None:
                try:
                    action(found)
                except BaseException:
                    receiver.abandon_message(found)
                    raise
                receiver.complete_message(found)
        finally:
            for message in passed:
                receiver.abandon_message(message)
            receiver.close()
        return found is not None

    def _receiver(self) -> DeadLetterReceiver:
        if self._dead_letter_receiver is None:
            raise ConfigurationError("This Service Bus adapter reads no dead-letter queue.")
        return self._dead_letter_receiver()


def _number(message: ServiceBusReceivedMessage) -> int:
    return message.sequence_number or 0


def _dead_letter(message: ServiceBusReceivedMessage) -> DeadLetter:
    reasons = (message.dead_letter_reason, message.dead_letter_error_description)
    return DeadLetter(
        letter_id=str(message.sequence_number),
        body=str(message),
        reason=": ".join(r for r in reasons if r),
        enqueued_utc=message.enqueued_time_utc,
    )
