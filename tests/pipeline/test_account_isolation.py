"""One account whose Dotdigital is down does not slow the other accounts of the same process.

Two workers (threads) share one runtime, as the queue-triggered function's concurrent calls
share a Functions worker process. One worker runs a good account's syncs while the other works
through three accounts whose Dotdigital API user gets HTTP 500 on every call (each connect
retries account-info until its retries are spent). The good account's time is measured alone
and with those neighbours, in the same test, with a scaled-down retry policy from settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from sandbox.dotdigital.app import ACCOUNT_INFO
from sandbox.launch import Sandboxes
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.pipeline import admin
from shared.pipeline.worker import Worker
from shared.runtime import Runtime
from shared.settings import Settings
from shared.sync_types import SyncType
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.conftest import PASSWORD_SETTING, sync_settings

GOOD = "good"
DOWN = ("down-1", "down-2", "down-3")
GOOD_SYNCS = (SyncType.CRM_METADATA, SyncType.DATA_LABELS)  # Dataverse, then Dotdigital
LATENCY_SECONDS = 0.15
# Each failing connect: 6 account-info calls and 5 waits of 0.6 s, about 3.9 s.
RETRIES = {"HTTP_MAX_RETRIES": "5", "HTTP_MAX_WAIT_SECONDS": "0.6"}
# The good account's time with failing neighbours, as a multiple of its time alone (measured
# 0.95-1.2 on a loaded 2-core machine: the neighbours mostly sleep between retries). A good
# run that waits for a single failing connect (3.9 s against about 1.7 s alone) fails it: on
# main it measured 3.0-5.7 (21 with neither the added latency nor the longer waits).
MAX_RATIO = 1.5


@pytest.fixture
def accounts_settings(
    settings: Settings,
    sandboxes: Sandboxes,
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    monkeypatch.setenv(PASSWORD_SETTING, sandboxes.credentials.api_password)
    # Network-like latency, so the runs' times are mostly waits and the ratio stays steady
    # on a busy machine.
    dataverse_sandbox.state.faults.latency_seconds = LATENCY_SECONDS
    dotdigital_sandbox.state.faults.latency_seconds = LATENCY_SECONDS
    state = dotdigital_sandbox.state
    for account_id in DOWN:
        user = f"apiuser-{account_id}@example.invalid"
        state.add_api_user(user, sandboxes.credentials.api_password)
        state.fail_user(user, 500)
    return sync_settings(settings, sandboxes, **RETRIES)


def fresh_runtime(settings: Settings) -> Runtime:
    """A new process's runtime: no client connected yet."""
    return Runtime(settings)


def provision(rt: Runtime, sandboxes: Sandboxes) -> None:
    rt.accounts.save(
        EmailAccount(
            account_id=GOOD,
            name="Good newsletters",
            api_user=sandboxes.credentials.api_user,
            api_password_secret_name=PASSWORD_SETTING,
        )
    )
    for account_id in DOWN:
        rt.accounts.save(
            EmailAccount(
                account_id=account_id,
                name=f"Account {account_id}",
                api_user=f"apiuser-{account_id}@example.invalid",
                api_password_secret_name=PASSWORD_SETTING,
            )
        )


def queued(rt: Runtime, account_id: str, sync_type: SyncType) -> str:
    """Sync Now, and the message it sent (taken off the Azurite queue)."""
    result = admin.sync_now(rt, account_id, sync_type)
    assert result.accepted, result.message
    queue = rt.queue
    assert isinstance(queue, StorageQueueAdapter)
    [delivery] = queue.receive(max_messages=1, visibility=timedelta(minutes=5))
    queue.complete(delivery)
    return delivery.body


def good_messages(rt: Runtime) -> list[str]:
    return [queued(rt, GOOD, sync_type) for sync_type in GOOD_SYNCS]


def run_good(rt: Runtime, bodies: list[str]) -> float:
    """Seconds for one worker to handle the good account's messages, one after the other."""
    worker = Worker(rt)
    started = time.perf_counter()
    for body in bodies:
        worker.handle(body)
    elapsed = time.perf_counter() - started
    for sync_type in GOOD_SYNCS:
        [audit] = rt.audit.recent(GOOD, sync_type=sync_type, limit=1)
        assert audit.status is AuditStatus.COMPLETED, audit.message
    return elapsed


class Background:
    """A worker thread; `join()` re-raises what it raised."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.errors: list[BaseException] = []

        def guarded() -> None:
            try:
                target()
            except BaseException as error:
                self.errors.append(error)

        self.thread = threading.Thread(target=guarded, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "a worker never finished"
        assert not self.errors, self.errors


def test_a_good_account_is_not_slowed_by_accounts_whose_dotdigital_fails(
    accounts_settings: Settings, sandboxes: Sandboxes, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    warm = fresh_runtime(accounts_settings)
    provision(warm, sandboxes)
    run_good(warm, good_messages(warm))  # tables created, code paths warm: not measured

    def run_alone() -> float:
        rt = fresh_runtime(accounts_settings)
        return run_good(rt, good_messages(rt))

    before = run_alone()

    rt = fresh_runtime(accounts_settings)
    bodies = good_messages(rt)
    down_bodies = [queued(rt, account_id, SyncType.DATA_LABELS) for account_id in DOWN]
    refused = dotdigital_sandbox.state.counters

    def run_down() -> None:
        worker = Worker(rt)
        for body in down_bodies:
            worker.handle(body)

    timing: list[float] = []
    down = Background(run_down)
    deadline = time.monotonic() + 10
    while refused.count("GET", ACCOUNT_INFO) == 0:  # a failing connect is under way
        assert time.monotonic() < deadline, "the failing accounts never called Dotdigital"
        time.sleep(0.005)
    good = Background(lambda: timing.append(run_good(rt, bodies)))
    good.join()
    down.join()

    [with_neighbours] = timing
    alone = (before + run_alone()) / 2  # alone before and after: a load change evens out
    ratio = with_neighbours / alone
    print(f"good account alone {alone:.2f} s, with 3 failing neighbours {with_neighbours:.2f} s")
    assert ratio <= MAX_RATIO, (
        f"the good account took {ratio:.1f}x its time alone ({with_neighbours:.2f} s against "
        f"{alone:.2f} s) next to accounts whose Dotdigital fails"
    )
    # The neighbours did fail their connects, and are retried later, not lost.
    for account_id in DOWN:
        [audit] = rt.audit.recent(account_id, sync_type=SyncType.DATA_LABELS, limit=1)
        assert audit.status is AuditStatus.IN_PROGRESS
        assert "Attempt 1 of" in audit.message
