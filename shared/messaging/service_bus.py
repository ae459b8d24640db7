"""Azure Service Bus adapter: message id for duplicate detection, batch send, scheduled enqueue.

In Azure the worker is fed by the Functions Service Bus trigger; this adapter is the sending
side (scheduler, Sync Now, continuations). Dead-lettering of a message the worker cannot use is
done by Service Bus itself after its max delivery count: `dead_letter` sends nothing here.

One sender per adapter, opened at the first send and kept: each sender holds an AMQP link (and,
with connection sharing off in azure-servicebus, a connection of its own), so a sender per send
would open a connection per message. Senders are not thread-safe: sends take a lock. `close()`
closes the sender and the client at shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusMessageBatch
from azure.servicebus.exceptions import MessageSizeExceededError

from shared.clock import Clock, utc_now
from shared.errors import ConfigurationError
from shared.messaging.contract import SyncRequest
from shared.settings import Settings

log = logging.getLogger(__name__)


class Sender(Protocol):
    """The part of `azure.servicebus.ServiceBusSender` this adapter uses."""

    def create_message_batch(self) -> ServiceBusMessageBatch: ...

    def send_messages(self, message: ServiceBusMessage | ServiceBusMessageBatch) -> None: ...

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
    ) -> None:
        self._sender_factory = sender_factory
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
        return cls(lambda: client.get_queue_sender(settings.queue_name), on_close=client.close)

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
