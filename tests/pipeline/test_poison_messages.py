"""Messages the worker cannot use: each is audited once, however often it is delivered, and
dead-lettered; no audit column can outgrow Table Storage's limits."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.accounts import EmailAccount
from shared.audit import AuditRecord, AuditStatus
from shared.errors import InvalidMessage
from shared.localhost.host import LocalHost
from shared.messaging.contract import SyncRequest, Trigger
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.pipeline.runs import mark_queued
from shared.pipeline.worker import UNKNOWN_ACCOUNT, Worker
from shared.runtime import Runtime
from shared.storage.entities import TRUNCATED
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType

COPIES = 3  # each message is sent this many times
QUEUE_LIMIT = 59_000  # a Storage Queue message holds at most 64 KiB

NESTED = "[" * 29_000 + "]" * 29_000  # json.loads gives up at about 1,000 levels
HUGE_TYPE = json.dumps({"version": 1, "account_id": "acme", "sync_type": "X" * 50_000,
                        "run_id": "r1", "trigger": "Manual"})  # fmt: skip
EXTRA_KEYS = json.dumps({"account_id": "acme", **{f"k{i}": 0 for i in range(4_000)}})


def _valid(account_id: str, sync_type: SyncType) -> str:
    return SyncRequest(
        account_id=account_id, sync_type=sync_type, run_id="r1", trigger=Trigger.MANUAL,
        enqueued_utc=datetime(2026, 11, 1, tzinfo=UTC),
    ).to_json()  # fmt: skip


def _deliver_all(
    rt: Runtime, host: LocalHost, body: str, copies: int = COPIES
) -> list[dict[str, str]]:
    """Send `body` `copies` times, run the local host until every copy is dead-lettered."""
    queue = rt.queue
    assert isinstance(queue, StorageQueueAdapter)
    assert len(body) < QUEUE_LIMIT
    for _ in range(copies):
        queue.queue.send_message(body)
    deadline = time.monotonic() + 20
    while len(queue.poison_messages()) < copies:
        assert time.monotonic() < deadline, "not every copy was dead-lettered"
        if not host.process_once():
            time.sleep(0.2)
    return queue.poison_messages()


def _only_audit_row(rt: Runtime, partition: str) -> AuditRecord:
    rows = rt.audit.recent(partition)
    assert len(rows) == 1, [r.message[:200] for r in rows]
    return rows[0]


@pytest.mark.parametrize(
    ("body", "partition", "says"),
    [
        (NESTED, UNKNOWN_ACCOUNT, "recursion limit"),
        (HUGE_TYPE, "acme", "sync_type"),
        (EXTRA_KEYS, "acme", "4,000 fields this version does not know"),  # not a request
        (_valid("ghost", SyncType.CRM_METADATA), UNKNOWN_ACCOUNT, "ghost"),
        (_valid("acme", SyncType.FORMS), "acme", "Forms is not available"),
    ],
    ids=["nested", "huge-sync-type", "extra-keys", "unknown-account", "unavailable-type"],
)
def test_unusable_message_is_audited_once_and_dead_lettered(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, body: str, partition: str,
    says: str,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().without(SyncType.FORMS)  # a version without Forms
    poison = _deliver_all(sync_runtime, host, body)

    assert [p["body"] for p in poison] == [body] * COPIES
    audit = _only_audit_row(sync_runtime, partition)
    assert audit.status is AuditStatus.FAILED and audit.trigger == "Queue message"
    assert says in audit.message and "dead-letter" in audit.message
    assert len(audit.message) < 2_000  # readable in Storage Explorer, not every problem listed
    other = "acme" if partition == UNKNOWN_ACCOUNT else UNKNOWN_ACCOUNT
    assert sync_runtime.audit.recent(other) == []


@pytest.mark.parametrize(
    ("body", "partition"),
    [
        (json.dumps({"account_id": "acme", "sync_type": "S" * 1_000_000, "run_id": "r2"}), "acme"),
        # Not JSON that can be read at all, so not even its account id.
        ('{"account_id": "acme", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", UNKNOWN_ACCOUNT),
        (json.dumps({"account_id": "acme", **{f"key{i}": i for i in range(20_000)}}), "acme"),
    ],
    ids=["1-mb-sync-type", "nested-100000", "20000-keys"],
)
def test_a_message_too_large_for_a_storage_queue_has_one_short_audit_row(
    sync_runtime: Runtime, acme: EmailAccount, body: str, partition: str
) -> None:
    # The sizes, as Service Bus carries them: the trigger raises each time and the
    # broker delivers the message again until it dead-letters it.
    for _ in range(COPIES):
        with pytest.raises(InvalidMessage):
            Worker(sync_runtime).handle(body)

    audit = _only_audit_row(sync_runtime, partition)
    assert audit.status is AuditStatus.FAILED and len(audit.message) < 2_000
    assert len(str(audit.sync_type)) <= 100
    if "S" * 100 in body:
        assert str(audit.sync_type).endswith(TRUNCATED)


def test_a_queued_run_of_a_type_this_version_does_not_run_is_freed(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost
) -> None:
    # Queued by a version that ran Forms: the schedule must not stay "Added to Queue" (the
    # scheduler would re-send the run forever).
    sync_runtime.registry = catalogue().without(SyncType.FORMS)
    record = sync_runtime.schedules.get("acme", SyncType.FORMS)
    request = mark_queued(record, trigger=Trigger.SCHEDULED, now=sync_runtime.clock(),
                          timeout=timedelta(minutes=10), new_run=True)  # fmt: skip
    sync_runtime.schedules.save(record)

    [poison] = _deliver_all(sync_runtime, host, request.to_json(), copies=1)

    assert "Forms is not available" in poison["reason"]
    assert sync_runtime.schedules.get("acme", SyncType.FORMS).status is ScheduleStatus.NONE
    assert "Forms is not available" in _only_audit_row(sync_runtime, "acme").message
