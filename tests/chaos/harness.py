"""The chaos harness: a kill switch at the worker's boundaries (Table Storage, the queue, HTTP),
a broker loop that redelivers to fresh workers until a run is over, and end-state capture.

A kill is `Killed` (a BaseException: no `except Exception` in the product catches it) raised
at the N-th boundary operation; from then on every operation of that "process" raises too,
as nothing of a dead process reaches the outside world. The broker then does what Azure
does: the message comes back once its visibility timeout has passed (moved forward by hand
instead of waited for), the dead worker's lease runs out (the connector's clock moves), and a
fresh worker (new id, new Runtime and clients) takes over.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from unittest import mock

import httpx
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

from shared.errors import InvalidMessage
from shared.messaging.storage_queue import Delivery, StorageQueueAdapter
from shared.pipeline.scheduler import Scheduler
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.chaos.world import OUT, ChaosWorld

TABLE_OPERATIONS = (
    "get_entity",
    "query_entities",
    "list_entities",
    "create_entity",
    "upsert_entity",
    "update_entity",
    "delete_entity",
    "submit_transaction",
)
QUEUE_OPERATIONS = ("send_message", "receive_messages", "delete_message")
MAX_DELIVERIES = 5  # as the local host: then the poison queue


class Killed(BaseException):
    """The worker process dies here."""


class KillSwitch:
    """Counts the boundary operations of the armed worker; kills it at operation `kill_at`."""

    def __init__(self, kill_at: int | None = None) -> None:
        self.kill_at = kill_at
        self.trace: list[str] = []  # every operation while armed, in order (the kill's too)
        self.killed_at: str | None = None
        self._armed = False
        self._dead = False
        self._lock = threading.Lock()

    @contextmanager
    def armed(self) -> Iterator[None]:
        """The worker's process: its operations count, a kill ends it."""
        self._armed, self._dead = True, False
        try:
            yield
        finally:
            self._armed = False

    def passing(self, operation: str) -> None:
        with self._lock:
            if not self._armed:
                return
            if self._dead:
                raise Killed(f"dead since {self.killed_at}")
            self.trace.append(operation)
            if len(self.trace) == self.kill_at:
                self._dead = True
                self.killed_at = f"#{len(self.trace)} {operation}"
                raise Killed(self.killed_at)


@contextmanager
def boundaries(switch: KillSwitch, table_prefix: str = "") -> Iterator[None]:
    """Route every Table, queue and HTTP operation of this process through `switch`."""
    with ExitStack() as stack:
        for name in TABLE_OPERATIONS:
            stack.enter_context(_before(TableClient, name, switch, "table", table_prefix))
        for name in QUEUE_OPERATIONS:
            stack.enter_context(_before(QueueClient, name, switch, "queue"))
        original = httpx.HTTPTransport.handle_request

        def handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> Any:
            what = f"{request.method} {request.url.path}"  # /api/data: Dataverse, else Dotdigital
            switch.passing(f"http {what} (before sending)")
            response = original(transport, request)
            try:
                # Sent and answered, but the answer never reaches the caller.
                switch.passing(f"http {what} (answer lost)")
            except Killed:
                response.close()
                raise
            return response

        patch = mock.patch.object(httpx.HTTPTransport, "handle_request", handle_request)
        stack.enter_context(patch)
        yield


def _before(owner: type, name: str, switch: KillSwitch, kind: str, prefix: str = "") -> Any:
    original = getattr(owner, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        target = getattr(self, "table_name", None) or getattr(self, "queue_name", "")
        switch.passing(f"{kind} {name} {target.removeprefix(prefix)}")
        return original(self, *args, **kwargs)

    return mock.patch.object(owner, name, wrapper)


# The broker ---------------------------------------------------------------------------------


@dataclass
class RunLog:
    """What happened on the way to the end of a run."""

    deliveries: int = 0
    kills: int = 0
    outcomes: list[str] = field(default_factory=list)
    dead_lettered: int = 0
    duplicates_sent: int = 0
    replays_sent: int = 0
    scheduler_ticks: int = 0


@dataclass
class Broker:
    """Delivers the run's queue to fresh workers, as Azure would, until the queue is empty and
    the schedule is free. `duplicate`: every message is delivered a second time, and an earlier
    message (a continuation the run has moved past) is replayed after it."""

    world: ChaosWorld
    switch: KillSwitch = field(default_factory=KillSwitch)
    duplicate: bool = False
    seed: int = 0  # which earlier message is replayed
    sync_type: SyncType = OUT  # the run's type: the broker stops once its schedule is free
    log: RunLog = field(default_factory=RunLog)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._seen: list[str] = []
        self._copied: set[str] = set()

    def queue(self, rt: Runtime) -> StorageQueueAdapter:
        queue = rt.queue
        assert isinstance(queue, StorageQueueAdapter)
        return queue

    def run_to_the_end(self, account_id: str = "acme", *, max_idle: int = 3) -> RunLog:
        idle = 0
        with boundaries(self.switch, self.world.settings.table_prefix):
            while True:
                if self._deliver_one():
                    idle = 0
                    continue
                rt = self.world.runtime()
                if rt.schedules.get(account_id, self.sync_type).status is ScheduleStatus.NONE:
                    return self.log
                # A message was lost with its process (killed before it was sent): the
                # scheduler's recovery re-enqueues the run once its timeout has passed.
                idle += 1
                assert idle <= max_idle, f"the run never finished: {self.log}"
                settings = rt.settings
                self.world.clock.advance(
                    seconds=settings.queued_timeout_seconds + settings.run_lease_seconds + 1
                )
                Scheduler(rt).tick()
                self.log.scheduler_ticks += 1

    def _deliver_one(self) -> bool:
        """One worker process: receive a message, handle it, complete it. False: queue empty."""
        rt = self.world.runtime()
        queue = self.queue(rt)
        delivery: Delivery | None = None
        try:
            with self.switch.armed():
                received = queue.receive(max_messages=1, visibility=timedelta(minutes=10))
                if not received:
                    return False
                delivery = received[0]
                self.log.deliveries += 1
                handled = self._handle(rt, queue, delivery)
            if handled and self.duplicate:
                self._duplicate(delivery.body)
        except Killed:
            self.log.kills += 1
            self.log.outcomes.append(f"killed at {self.switch.killed_at}")
            if delivery is not None:
                self._visible_again(queue, delivery)
            # The dead worker's lease runs out before anyone takes over.
            self.world.clock.advance(seconds=rt.settings.run_lease_seconds + 1)
        return True

    def _handle(self, rt: Runtime, queue: StorageQueueAdapter, delivery: Delivery) -> bool:
        """True when the worker returned (the message was completed)."""
        try:
            outcome = Worker(rt).handle(delivery.body)
        except InvalidMessage as error:  # the host's rule: to the poison queue at once
            queue.dead_letter(delivery.body, str(error))
            queue.complete(delivery)
            self.log.dead_lettered += 1
            self.log.outcomes.append("invalid: dead-lettered")
            return False
        except Exception as error:
            self.log.outcomes.append(f"raised {type(error).__name__}")
            if delivery.dequeue_count >= MAX_DELIVERIES:
                queue.dead_letter(delivery.body, f"MaxDeliveryCountExceeded: {error}"[:2000])
                queue.complete(delivery)
                self.log.dead_lettered += 1
            else:
                self._visible_again(queue, delivery)
            return False
        self.log.outcomes.append(outcome.value if isinstance(outcome, Outcome) else str(outcome))
        queue.complete(delivery)
        return True

    def _duplicate(self, body: str) -> None:
        """The broker hands the message out again at once, then an earlier one, each to a
        fresh worker while the run goes on (its continuation still waits in the queue)."""
        if body in self._copied:
            return
        self._copied.add(body)
        copies = [body]
        earlier = [b for b in self._seen if b != body]
        if earlier:
            copies.append(self._rng.choice(earlier))
            self.log.replays_sent += 1
        self.log.duplicates_sent += 1
        self._seen.append(body)
        for copy in copies:
            rt = self.world.runtime()
            self.log.deliveries += 1
            outcome = Worker(rt).handle(copy)
            self.log.outcomes.append(f"copy: {outcome.value}")

    @staticmethod
    def _visible_again(queue: StorageQueueAdapter, delivery: Delivery) -> None:
        """The visibility timeout has passed: the broker hands the message out again."""
        message = delivery.message
        queue.queue.update_message(message.id, message.pop_receipt, visibility_timeout=0)
