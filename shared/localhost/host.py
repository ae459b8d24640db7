"""Run the functions locally: timers on their NCRONTAB schedules, the Service Bus trigger fed
from the Azure Storage Queue (Azurite) of the same name, HTTP triggers at `base_url/api/<route>`
(shared/localhost/http_server.py; function keys are not checked, as in Core Tools).

Delivery follows the broker's rules: a message is deleted only after the function returns;
if the function raises, it reappears after the visibility timeout; after `max_deliveries` it
goes to the poison queue. An InvalidMessage goes there at once: retrying cannot fix it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import azure.functions as func
from azure.functions.timer import TimerRequest
from croniter import croniter

from shared.clock import utc_now
from shared.errors import InvalidMessage
from shared.localhost.bindings import IndexedFunction, index, resolve
from shared.localhost.http_server import HttpServer, asgi_app, http_routes
from shared.messaging.storage_queue import StorageQueueAdapter

log = logging.getLogger(__name__)


@dataclass
class Timer:
    function: IndexedFunction
    schedule: croniter
    next_fire: datetime

    def advance(self, now: datetime) -> None:
        self.next_fire = self.schedule.get_next(datetime, start_time=now)


@dataclass
class HostStats:
    timer_runs: dict[str, int] = field(default_factory=dict)
    messages_done: int = 0
    messages_failed: int = 0
    dead_lettered: int = 0


class LocalHost:
    def __init__(
        self,
        app: Any,
        queue_factory: Callable[[str], StorageQueueAdapter],
        *,
        app_settings: Mapping[str, str],
        visibility: timedelta = timedelta(minutes=5),
        max_deliveries: int = 5,
        poll_seconds: float = 1.0,
        workers: int = 2,
        http_port: int = 0,
    ) -> None:
        self.functions = index(app)
        self.http_port = http_port  # 0: a free port, chosen when the HTTP server starts
        self.http_routes = http_routes(self.functions)
        self._http: HttpServer | None = None
        self.visibility = visibility
        self.max_deliveries = max_deliveries
        self.poll_seconds = poll_seconds
        self.workers = workers
        self.stats = HostStats()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        now = utc_now()
        self.timers = []
        self.queues: list[tuple[IndexedFunction, StorageQueueAdapter]] = []
        for function in self.functions:
            kind = function.trigger["type"]
            if kind == "timerTrigger":
                cron = croniter(function.trigger["schedule"], now, second_at_beginning=True)
                self.timers.append(Timer(function, cron, cron.get_next(datetime)))
            elif kind == "serviceBusTrigger":
                queue = queue_factory(resolve(function.trigger["queueName"], app_settings))
                self.queues.append((function, queue))
            elif kind != "httpTrigger":  # HTTP triggers: served by serve_http()
                log.warning("Local host skips %s: %s is not supported", function.name, kind)

    # One-shot operations (tests and the demo drive the host with these).
    def fire_timer(self, name: str, *, past_due: bool = False) -> None:
        timer = next(t for t in self.timers if t.function.name == name)
        timer.function.call(TimerRequest(past_due=past_due))
        self.stats.timer_runs[name] = self.stats.timer_runs.get(name, 0) + 1

    def process_once(self, max_messages: int = 1) -> int:
        """Receive and handle up to `max_messages` per queue; returns how many were handled."""
        handled = 0
        for function, queue in self.queues:
            for delivery in queue.receive(max_messages=max_messages, visibility=self.visibility):
                handled += 1
                self._deliver(function, queue, delivery)
        return handled

    def drain(self, *, max_messages: int = 1000) -> int:
        total = 0
        while total < max_messages:
            handled = self.process_once()
            if not handled:
                break
            total += handled
        return total

    def _deliver(
        self, function: IndexedFunction, queue: StorageQueueAdapter, delivery: Any
    ) -> None:
        try:
            function.call(func.ServiceBusMessage(body=delivery.body.encode()))
        except InvalidMessage as error:
            queue.dead_letter(delivery.body, str(error))
            queue.complete(delivery)
            self.stats.dead_lettered += 1
            return
        except Exception as error:
            self.stats.messages_failed += 1
            if delivery.dequeue_count >= self.max_deliveries:
                log.error("Dead-lettering after %d deliveries: %s", delivery.dequeue_count, error)
                queue.dead_letter(
                    delivery.body,
                    f"MaxDeliveryCountExceeded after {delivery.dequeue_count}: {error}",
                )
                queue.complete(delivery)
                self.stats.dead_lettered += 1
            else:
                log.warning(
                    "%s failed (delivery %d), will retry: %s",
                    function.name,
                    delivery.dequeue_count,
                    error,
                )
            return
        queue.complete(delivery)
        self.stats.messages_done += 1

    def serve_http(self) -> str:
        """Start serving the HTTP-triggered functions (once); returns `base_url`."""
        if self._http is None:
            self._http = HttpServer(asgi_app(self.http_routes), self.http_port)
        return self._http.base_url

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`; the functions are under `/api/<route>`."""
        if self._http is None:
            raise RuntimeError("the local host serves HTTP once started (or serve_http())")
        return self._http.base_url

    # Long-running mode.
    def start(self, *, fire_timers_now: bool = False) -> None:
        if self.http_routes:
            self.serve_http()
        if fire_timers_now:
            for timer in self.timers:
                self._safe_fire(timer)
        self._spawn(self._timer_loop, "timers")
        for n in range(self.workers):
            self._spawn(self._queue_loop, f"queue-{n}")

    def stop(self) -> None:
        self._stop.set()
        http, self._http = self._http, None
        if http is not None:
            http.stop()
        for thread in self._threads:
            thread.join(timeout=30)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"localhost-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _safe_fire(self, timer: Timer) -> None:
        try:
            self.fire_timer(timer.function.name)
        except Exception:
            log.exception("Timer %s failed", timer.function.name)

    def _timer_loop(self) -> None:
        while not self._stop.is_set():
            now = utc_now()
            for timer in self.timers:
                if now >= timer.next_fire:
                    timer.advance(now)
                    self._safe_fire(timer)
            self._stop.wait(0.5)

    def _queue_loop(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.process_once()
            except Exception:
                log.exception("Queue polling failed")
                handled = 0
            if not handled:
                self._stop.wait(self.poll_seconds)
