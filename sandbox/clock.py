"""Time for the sandboxes: the wall clock by default, a manual clock in tests.

A `ManualClock` lets a test run rate-limit windows and token expiry without sleeping: give its
`now` to the sandbox states and its `sleep` to the clients' retry policy, and every wait the
client would have slept advances the sandboxes' time instead (and is recorded).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds since the Unix epoch (UTC), like `time.time`."""


def system_clock() -> float:
    return time.time()


class ManualClock:
    """A clock that only moves when told to. Thread-safe (the servers read it from their thread)."""

    def __init__(self, start: float | None = None) -> None:
        # Whole seconds, so HTTP-dates (1 s resolution) and epoch headers round-trip exactly.
        self._now = float(int(time.time() if start is None else start))
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the wait and move time forward by it, without blocking."""
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))
