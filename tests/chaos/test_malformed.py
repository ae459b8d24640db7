"""Scenario 4: malformed and unusable messages, each delivered several times: each is audited
exactly once and every delivery ends in the dead-letter queue (none is retried forever,
dropped silently or left without an audit row)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sandbox.launch import Sandboxes
from shared.azurite import AzuriteProcess
from shared.errors import InvalidMessage
from shared.pipeline.worker import Worker
from shared.sync_types import SyncType
from tests.chaos.harness import MAX_DELIVERIES, Broker
from tests.chaos.report import ChaosReport
from tests.chaos.world import ChaosWorld, WorldSpec, build_world

COPIES = 3  # deliveries of each message
QUEUE_LIMIT = 64 * 1024  # a Storage Queue message; Service Bus Premium takes up to 100 MB


def _valid(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "version": 1,
        "account_id": "acme",
        "sync_type": "CrmMetadata",
        "run_id": "0123456789abcdef",
        "trigger": "Manual",
        "sequence": 0,
        "enqueued_utc": datetime(2026, 11, 23, 9, tzinfo=UTC).isoformat(),
    }
    body.update(changes)
    return body


def _extra_keys() -> str:
    body = _valid()
    body.update({f"extra{n:05d}": n for n in range(20_000)})
    return json.dumps(body)


def _nested() -> str:
    depth = 100_000
    head = '{"account_id": "acme", "sync_type": "CrmMetadata", "x": '
    return head + "[" * depth + "]" * depth + "}"


MESSAGES: dict[str, Callable[[], str]] = {
    "bad JSON": lambda: '{"version": 1, "account_id": "acme", "sync_type": "CrmMeta',
    "JSON nested 100,000 deep": _nested,
    "1 MB sync_type": lambda: json.dumps(_valid(sync_type="S" * 1_000_000)),
    "20,000 extra keys": _extra_keys,
    "unknown account": lambda: json.dumps(_valid(account_id="ghost")),
    "unknown sync type": lambda: json.dumps(_valid(sync_type="NoSuchSync")),
    "sync type not in this version": lambda: json.dumps(_valid(sync_type="Forms")),
}


def _audit_rows(world: ChaosWorld) -> int:
    return sum(1 for _ in world.runtime().tables.client("SyncAudit").list_entities())


def _deliver_directly(world: ChaosWorld, body: str) -> str:
    """Hand a message too large for the local Storage Queue to a fresh worker, as the Service
    Bus trigger would, under the host's rules: an InvalidMessage is dead-lettered at once,
    anything else is redelivered until MAX_DELIVERIES, then dead-lettered."""
    for delivery in range(1, MAX_DELIVERIES + 1):
        try:
            outcome = Worker(world.runtime()).handle(body)
        except InvalidMessage:
            return "dead-lettered"
        except Exception as error:
            if delivery == MAX_DELIVERIES:
                return f"dead-lettered after {delivery} deliveries ({type(error).__name__})"
            continue
        return f"completed: {outcome.value}"
    raise AssertionError("unreachable")


@pytest.mark.parametrize("name", list(MESSAGES))
def test_a_malformed_message_is_audited_once_and_dead_lettered(
    name: str, azurite: AzuriteProcess, sandboxes: Sandboxes, chaos_report: ChaosReport
) -> None:
    world = build_world(azurite, sandboxes, WorldSpec(members=10))
    world.lacks = (SyncType.FORMS,)  # "not in this version"
    body = MESSAGES[name]()
    broker = Broker(world)
    queue = broker.queue(world.runtime())

    if len(body.encode()) <= QUEUE_LIMIT:
        for _ in range(COPIES):
            queue.queue.send_message(body)
        broker.run_to_the_end()
        poisoned = [p for p in queue.poison_messages() if p["body"] == body]
        outcomes = broker.log.outcomes
        dead = len(poisoned)
    else:
        outcomes = [_deliver_directly(world, body) for _ in range(COPIES)]
        dead = sum(o.startswith("dead-lettered") for o in outcomes)

    rows = _audit_rows(world)
    ok = rows == 1 and dead == COPIES
    chaos_report.record(
        "malformed", ok, f"{name}: {rows} audit rows, {dead} of {COPIES} dead-lettered; {outcomes}"
    )
    assert rows == 1, f"{name}: {rows} audit rows; outcomes {outcomes}"
    assert dead == COPIES, f"{name}: outcomes {outcomes}"
