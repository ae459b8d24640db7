"""The queue port: what the scheduler and the worker need from a message queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from shared.messaging.contract import SyncRequest


class SyncQueue(Protocol):
    def send(self, requests: Sequence[SyncRequest]) -> None:
        """Enqueue now, batched where the transport allows."""

    def send_later(self, request: SyncRequest, delay: timedelta) -> None:
        """Enqueue so that it becomes visible after `delay` (continuations, back-off)."""

    def dead_letter(self, body: str, reason: str) -> None:
        """Keep a message that can never be processed, with why, for an operator to inspect."""

    def close(self) -> None:
        """Release connections at shutdown."""
