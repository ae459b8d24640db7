"""The queue port: what the scheduler, the worker and the operator need from a message queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.messaging.contract import SyncRequest

# Dead letters read per listing: a dead-letter queue holds a handful after an incident, and
# an operator reads them one screen at a time.
MAX_DEAD_LETTERS = 100


@dataclass(frozen=True)
class DeadLetter:
    """A message the queue gave up on. `letter_id` names it for a replay or a discard: the
    Service Bus sequence number, or the poison queue's message id."""

    letter_id: str
    body: str
    reason: str
    enqueued_utc: datetime | None


class SyncQueue(Protocol):
    def send(self, requests: Sequence[SyncRequest]) -> None:
        """Enqueue now, batched where the transport allows."""

    def send_later(self, request: SyncRequest, delay: timedelta) -> None:
        """Enqueue so that it becomes visible after `delay` (continuations, back-off)."""

    def dead_letter(self, body: str, reason: str) -> None:
        """Keep a message that can never be processed, with why, for an operator to inspect."""

    def dead_letters(self, limit: int = MAX_DEAD_LETTERS) -> list[DeadLetter]:
        """The oldest dead letters, at most `limit`, read without taking them (a peek)."""

    def replay_dead_letter(self, letter_id: str, request: SyncRequest) -> bool:
        """Send `request` (the dead letter's own, parsed) to the queue again, then remove the
        dead letter; False if it is no longer there."""

    def discard_dead_letter(self, letter_id: str) -> bool:
        """Remove a dead letter without sending it; False if it is no longer there."""

    def close(self) -> None:
        """Release connections at shutdown."""
