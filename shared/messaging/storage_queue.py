"""Azure Storage Queue adapter: the local twin of the Service Bus queue (runs on Azurite).

Poison messages go to `<queue>-poison`, the name the Functions host uses for storage queues.
A Storage Queue peeks at most 32 messages: the poison queue lists its oldest 32; a replay or
discard finds its message by receiving (hiding) the queue a page at a time and shows the others
again at once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueMessage, QueueServiceClient

from shared.azure_errors import first_contact
from shared.messaging.contract import SyncRequest
from shared.messaging.port import MAX_DEAD_LETTERS, DeadLetter
from shared.settings import Settings

MAX_VISIBILITY_DELAY = timedelta(days=7)  # the service's limit for a message's initial delay
# A message holds 64 KiB: a poison entry (reason and body as JSON) stays below it.
POISON_LIMIT = 60_000
MAX_REASON = 1_000
CUT = " ... [truncated]"
PEEK_LIMIT = 32  # the most messages a Storage Queue peek or receive returns
HIDE_SECONDS = 30  # how long a receive hides the poison messages looked through
MAX_SCAN = 1_000  # poison messages looked through for one replay or discard


def queue_service(settings: Settings) -> QueueServiceClient:
    if settings.storage_connection_string is not None:
        return QueueServiceClient.from_connection_string(
            settings.storage_connection_string.get_secret_value()
        )
    account = settings.require_storage()
    from shared.identity import azure_credential

    endpoint = settings.storage_queue_service_uri or f"https://{account}.queue.core.windows.net"
    return QueueServiceClient(account_url=endpoint, credential=azure_credential(settings))


def _ensure(client: QueueClient) -> QueueClient:
    with first_contact("Queue Storage", client.url), contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


@dataclass
class Delivery:
    """One received message; `dequeue_count` says how many times it has been handed out."""

    body: str
    dequeue_count: int
    message: QueueMessage


def poison_entry(body: str, reason: str) -> str:
    """The poison queue's JSON for a message, its body cut (and marked) if it would not fit."""
    reason = reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + CUT
    entry = json.dumps({"reason": reason, "body": body})
    while len(entry) > POISON_LIMIT:
        # Each character cut shortens the JSON by at least one: this ends in a pass or two.
        body = body[: max(0, len(body) - (len(entry) - POISON_LIMIT) - len(CUT))] + CUT
        entry = json.dumps({"reason": reason, "body": body})
    return entry


class StorageQueueAdapter:
    def __init__(self, queue: QueueClient, poison: QueueClient) -> None:
        self.queue = _ensure(queue)
        self.poison = _ensure(poison)

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageQueueAdapter:
        service = queue_service(settings)
        return cls(
            service.get_queue_client(settings.queue_name),
            service.get_queue_client(f"{settings.queue_name}-poison"),
        )

    def send(self, requests: Sequence[SyncRequest]) -> None:
        for request in requests:
            self.queue.send_message(request.to_json())

    def send_later(self, request: SyncRequest, delay: timedelta) -> None:
        seconds = int(min(delay, MAX_VISIBILITY_DELAY).total_seconds())
        self.queue.send_message(request.to_json(), visibility_timeout=max(seconds, 0))

    def dead_letter(self, body: str, reason: str) -> None:
        # Kept until an operator replays or discards it (a queue message expires after 7 days
        # by default; a Service Bus dead letter never does).
        self.poison.send_message(poison_entry(body, reason), time_to_live=-1)

    def dead_letters(self, limit: int = MAX_DEAD_LETTERS) -> list[DeadLetter]:
        peeked = self.poison.peek_messages(max_messages=max(1, min(limit, PEEK_LIMIT)))
        return [_dead_letter(m) for m in peeked]

    def replay_dead_letter(self, letter_id: str, request: SyncRequest) -> bool:
        found = self._take(letter_id)
        if found is None:
            return False
        # Sent before the poison copy is deleted: a crash in between leaves a duplicate, which
        # the worker ignores (run id and sequence), never a lost run.
        self.queue.send_message(request.to_json())
        self.poison.delete_message(found)
        return True

    def discard_dead_letter(self, letter_id: str) -> bool:
        found = self._take(letter_id)
        if found is None:
            return False
        self.poison.delete_message(found)
        return True

    def _take(self, letter_id: str) -> QueueMessage | None:
        """Receive the poison message `letter_id` (hidden from others while it is handled);
        every other message received on the way is made visible again."""
        passed: list[QueueMessage] = []
        found = None
        try:
            while found is None and len(passed) < MAX_SCAN:
                page = list(
                    self.poison.receive_messages(
                        max_messages=PEEK_LIMIT, visibility_timeout=HIDE_SECONDS
                    )
                )
                if not page:
                    break
                for message in page:
                    if message.id == letter_id and found is None:
                        found = message
                    else:
                        passed.append(message)
        finally:
            for message in passed:
                self.poison.update_message(message, visibility_timeout=0)
        return found

    def close(self) -> None:
        self.queue.close()
        self.poison.close()

    # The local host's side of the queue.
    def receive(self, *, max_messages: int, visibility: timedelta) -> list[Delivery]:
        messages = self.queue.receive_messages(
            max_messages=max_messages, visibility_timeout=int(visibility.total_seconds())
        )
        return [Delivery(str(m.content), int(m.dequeue_count or 0), m) for m in messages]

    def complete(self, delivery: Delivery) -> None:
        self.queue.delete_message(delivery.message)

    def poison_messages(self) -> list[dict[str, str]]:
        peeked = self.poison.peek_messages(max_messages=32)
        return [json.loads(str(m.content)) for m in peeked]


def _dead_letter(message: QueueMessage) -> DeadLetter:
    """A poison message as the local host writes it (`poison_entry`), or a raw body (what the
    Functions host moves there itself)."""
    content = str(message.content)
    try:
        entry = json.loads(content)
    except ValueError:
        entry = None
    if isinstance(entry, dict) and isinstance(entry.get("body"), str):
        body, reason = entry["body"], str(entry.get("reason", ""))
    else:
        body, reason = content, ""
    return DeadLetter(
        letter_id=str(message.id), body=body, reason=reason, enqueued_utc=message.inserted_on
    )
