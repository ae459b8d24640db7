"""Fault injection and request budgets shared by both sandboxes.

Faults are switches on the state object, applied per request by `FaultMiddleware`:

- `error_rates`: status -> probability (e.g. {500: 0.2, 503: 0.1}), answered with the API's own
  error body;
- `latency_seconds`: added to every request;
- `drop_rate`: close the connection without any response;
- `slow_rate` / `slow_seconds`: hold the response back for `slow_seconds` (past a client's
  read timeout);
- `lose_rate`: handle the request, then drop the connection before the answer (a lost
  response: the write happened, the client cannot know);
- `throttle_rate` / `throttle_seconds`: answer 429 asking the client to come back in
  `throttle_seconds` (each API's own header: Retry-After, x-ratelimit-reset);
- scripted one-offs that fire first and in order: `fail_next(503, 2)`, `drop_next()`,
  `slow_next(5.0)`, and `lose_response_next()` (the request is handled, then the connection
  drops before the answer: the client cannot know whether its write happened). `fail_next` and
  `lose_response_next` take `path=` to wait for the next request of that path (other requests
  pass them by): the one call a test is about, whatever the client reads before it.
- `fail_route(template, status)`: every request whose path fits a route template (e.g.
  `/v2/campaigns/{campaignId}/clicks/since-date/{date}`) fails with `status` until
  `clear_routes()` or `reset()`: one endpoint that stays down while the others answer.

Random decisions come from a seeded `random.Random`, so a run is reproducible; `reset(seed)`
starts the sequence again.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.clock import Clock, system_clock

ABORT_EXTENSION = "sandbox.abort_connection"
"""Scope extension installed by `sandbox.server.start_server`: {"abort": callable}."""


@dataclass(frozen=True)
class FaultDecision:
    kind: str  # "error" | "drop" | "lose" | "slow" | "throttle"
    status: int = 0
    seconds: float = 0.0
    path: str | None = None  # scripted: only a request of this path takes it


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.error_rates: dict[int, float] = {}
        self.latency_seconds = 0.0
        self.drop_rate = 0.0
        self.slow_rate = 0.0
        self.slow_seconds = 0.0
        self.lose_rate = 0.0
        self.throttle_rate = 0.0
        self.throttle_seconds = 1
        self._scripted: deque[FaultDecision] = deque()
        self._failing_routes: dict[str, tuple[re.Pattern[str], int]] = {}
        self._rng = random.Random(seed)
        self.injected: Counter[str] = Counter()  # decisions taken, by kind (or status)

    def reset(self, seed: int | None = None) -> None:
        with self._lock:
            if seed is not None:
                self.seed = seed
            self.error_rates = {}
            self.latency_seconds = 0.0
            self.drop_rate = 0.0
            self.slow_rate = 0.0
            self.slow_seconds = 0.0
            self.lose_rate = 0.0
            self.throttle_rate = 0.0
            self.throttle_seconds = 1
            self._scripted.clear()
            self._failing_routes.clear()
            self._rng = random.Random(self.seed)
            self.injected = Counter()

    # Switches -----------------------------------------------------------------------------

    def set_error_rate(self, status: int, rate: float) -> None:
        if not 500 <= status <= 599:
            raise ValueError("injected errors are server errors (5xx)")
        _check_rate(rate)
        self.error_rates[status] = rate

    def set_drop_rate(self, rate: float) -> None:
        _check_rate(rate)
        self.drop_rate = rate

    def set_slow(self, rate: float, seconds: float) -> None:
        _check_rate(rate)
        self.slow_rate = rate
        self.slow_seconds = seconds

    def set_lose_rate(self, rate: float) -> None:
        _check_rate(rate)
        self.lose_rate = rate

    def set_throttle(self, rate: float, seconds: int = 1) -> None:
        _check_rate(rate)
        self.throttle_rate = rate
        self.throttle_seconds = seconds

    def fail_next(self, status: int, count: int = 1, *, path: str | None = None) -> None:
        with self._lock:
            self._scripted.extend(
                FaultDecision("error", status=status, path=path) for _ in range(count)
            )

    def fail_route(self, template: str, status: int) -> None:
        """Fail every request of this route template (`{name}` is one path segment)."""
        if not 500 <= status <= 599:
            raise ValueError("injected errors are server errors (5xx)")
        parts = re.split(r"(\{[^/{}]+\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        with self._lock:
            self._failing_routes[template] = (re.compile(pattern + "/?"), status)

    def clear_routes(self) -> None:
        with self._lock:
            self._failing_routes.clear()

    def drop_next(self, count: int = 1) -> None:
        with self._lock:
            self._scripted.extend(FaultDecision("drop") for _ in range(count))

    def lose_response_next(self, count: int = 1, *, path: str | None = None) -> None:
        with self._lock:
            self._scripted.extend(FaultDecision("lose", path=path) for _ in range(count))

    def slow_next(self, seconds: float, count: int = 1) -> None:
        with self._lock:
            self._scripted.extend(FaultDecision("slow", seconds=seconds) for _ in range(count))

    # Decision ---------------------------------------------------------------------------------

    def decide(self, path: str = "") -> FaultDecision | None:
        decision = self._decide(path)
        if decision is not None:
            with self._lock:
                self.injected[str(decision.status or decision.kind)] += 1
        return decision

    def _decide(self, path: str) -> FaultDecision | None:
        with self._lock:
            for scripted in self._scripted:
                if scripted.path is None or scripted.path == path:
                    self._scripted.remove(scripted)
                    return scripted
            for pattern, status in self._failing_routes.values():
                if pattern.fullmatch(path):
                    return FaultDecision("error", status=status)
            if self.drop_rate and self._rng.random() < self.drop_rate:
                return FaultDecision("drop")
            if self.lose_rate and self._rng.random() < self.lose_rate:
                return FaultDecision("lose")
            for status in sorted(self.error_rates):
                rate = self.error_rates[status]
                if rate and self._rng.random() < rate:
                    return FaultDecision("error", status=status)
            if self.throttle_rate and self._rng.random() < self.throttle_rate:
                return FaultDecision("throttle", status=429, seconds=self.throttle_seconds)
            if self.slow_rate and self._rng.random() < self.slow_rate:
                return FaultDecision("slow", seconds=self.slow_seconds)
            return None


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ValueError("a rate is a probability between 0 and 1")


class FaultMiddleware:
    """Pure ASGI middleware applying `Faults` to the requests `applies` selects."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: Faults,
        error_response: Callable[[int], Response],
        throttle_response: Callable[[int], Response] | None = None,
        applies: Callable[[str], bool] = lambda path: True,
    ) -> None:
        self.app = app
        self.faults = faults
        self.error_response = error_response
        # seconds -> the API's 429 (with its own "come back in" header); without one, a plain 429
        self.throttle_response = throttle_response or (lambda seconds: error_response(429))
        self.applies = applies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(str(scope["path"])):
            await self.app(scope, receive, send)
            return
        if self.faults.latency_seconds > 0:
            await asyncio.sleep(self.faults.latency_seconds)
        decision = self.faults.decide(str(scope["path"]))
        if decision is None:
            await self.app(scope, receive, send)
        elif decision.kind in ("drop", "lose"):
            abort = (scope.get("extensions") or {}).get(ABORT_EXTENSION, {}).get("abort")
            if abort is None:
                raise RuntimeError("dropping a connection needs sandbox.server.start_server")
            if decision.kind == "lose":

                async def swallow(message: Message) -> None:
                    return None

                await self.app(scope, receive, swallow)  # the work happens, the answer is lost
            abort()
        elif decision.kind == "error":
            await self.error_response(decision.status)(scope, receive, send)
        elif decision.kind == "throttle":
            await self.throttle_response(int(decision.seconds))(scope, receive, send)
        else:
            await asyncio.sleep(decision.seconds)
            await self.app(scope, receive, send)


class RateWindow:
    """A fixed-window request budget: `limit` requests per `window_seconds` of `clock` time."""

    def __init__(self, limit: int, window_seconds: float, clock: Clock = system_clock) -> None:
        if limit < 0 or window_seconds <= 0:
            raise ValueError("a budget needs limit >= 0 and a positive window")
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._used = 0

    def try_consume(self) -> bool:
        """Spend one request if the budget allows; False once it is spent."""
        with self._lock:
            now = self.clock()
            if self._window_start is None or now >= self._window_start + self.window_seconds:
                self._window_start = now
                self._used = 0
            if self._used >= self.limit:
                return False
            self._used += 1
            return True

    @property
    def remaining(self) -> int:
        with self._lock:
            return max(self.limit - self._used, 0)

    def reset_at(self) -> float:
        """When the current window ends (clock seconds)."""
        with self._lock:
            start = self.clock() if self._window_start is None else self._window_start
            return start + self.window_seconds

    def seconds_until_reset(self) -> int:
        """Whole seconds until the window ends, at least 1 (what a Retry-After would say)."""
        return max(1, math.ceil(self.reset_at() - self.clock()))
