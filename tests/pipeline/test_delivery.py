"""At-least-once delivery: duplicates, races, a killed worker, continuations, poison."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from sandbox.dataverse.app import ATTRIBUTES_TEMPLATE
from sandbox.launch import Sandboxes
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.azurite import PROJECT_ROOT
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime, install_runtime
from shared.settings import Settings
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DataverseSandbox
from tests.pipeline.conftest import PASSWORD_SETTING, sync_settings

CRM = SyncType.CRM_METADATA


def _take_message(rt: Runtime) -> str:
    queue = rt.queue
    assert isinstance(queue, StorageQueueAdapter)
    [delivery] = queue.receive(max_messages=1, visibility=timedelta(seconds=30))
    queue.complete(delivery)
    return delivery.body


def _metadata_calls(sandbox: DataverseSandbox) -> int:
    return sandbox.state.counters.count("GET", ATTRIBUTES_TEMPLATE)


def test_same_message_twice_runs_once_with_one_audit_row(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox
) -> None:
    admin.sync_now(sync_runtime, "acme", CRM)
    body = _take_message(sync_runtime)

    first = Worker(sync_runtime).handle(body)
    second = Worker(sync_runtime).handle(body)

    assert (first, second) == (Outcome.FINISHED, Outcome.NOT_CURRENT)
    assert _metadata_calls(dataverse_sandbox) == 3
    [audit] = sync_runtime.audit.recent("acme")
    assert audit.status is AuditStatus.COMPLETED and audit.trigger == "Manual"


def test_two_workers_racing_for_one_run_run_it_once(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox
) -> None:
    admin.sync_now(sync_runtime, "acme", CRM)
    body = _take_message(sync_runtime)
    dataverse_sandbox.state.faults.latency_seconds = 0.2  # keep the winner busy for a while
    start = threading.Barrier(2)
    outcomes: list[Outcome] = []

    def work() -> None:
        start.wait()
        outcomes.append(Worker(sync_runtime).handle(body))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes.count(Outcome.FINISHED) == 1
    assert set(outcomes) - {Outcome.FINISHED} <= {
        Outcome.LOST_RACE, Outcome.BUSY, Outcome.NOT_CURRENT
    }  # fmt: skip
    assert _metadata_calls(dataverse_sandbox) == 3
    assert len(sync_runtime.audit.recent("acme")) == 1


def test_long_run_continues_in_follow_up_messages(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, dataverse_sandbox: DataverseSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # A pause after every entity: three slices, one run, one audit row.
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    admin.sync_now(sync_runtime, "acme", CRM)
    deadline = time.monotonic() + 30
    while sync_runtime.schedules.get("acme", CRM).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "the run never finished"
        if not host.process_once():
            time.sleep(0.2)

    [audit] = sync_runtime.audit.recent("acme")
    assert audit.status is AuditStatus.COMPLETED
    total = sum(len(dataverse_sandbox.state.attributes[e]) for e in ("contact", "lead", "account"))
    assert audit.counts.read == total
    assert _metadata_calls(dataverse_sandbox) == 3
    assert host.stats.messages_done == 3


def test_an_earlier_message_of_a_paused_run_changes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # A pause after every entity: slice 1 (contact), slice 2 (lead), slice 3 (account).
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    sync_runtime.settings = sync_runtime.settings.model_copy(
        update={"continuation_delay_seconds": 0.0}
    )
    admin.sync_now(sync_runtime, "acme", CRM)
    first = _take_message(sync_runtime)
    assert Worker(sync_runtime).handle(first) is Outcome.PAUSED
    assert Worker(sync_runtime).handle(_take_message(sync_runtime)) is Outcome.PAUSED
    record = sync_runtime.schedules.get("acme", CRM)
    [audit] = sync_runtime.audit.recent("acme")
    calls = _metadata_calls(dataverse_sandbox)
    checkpoint = sync_runtime.state.load_checkpoint("acme", CRM, record.run_id)

    outcome = Worker(sync_runtime).handle(first)  # the first slice's message, delivered again

    assert outcome is Outcome.NOT_CURRENT
    assert _metadata_calls(dataverse_sandbox) == calls == 2  # no third slice
    assert sync_runtime.schedules.get("acme", CRM).etag == record.etag  # row untouched
    assert sync_runtime.state.load_checkpoint("acme", CRM, record.run_id) == checkpoint
    assert sync_runtime.audit.recent("acme") == [audit]
    # The run's own follow-up still runs the next slice.
    assert Worker(sync_runtime).handle(_take_message(sync_runtime)) is Outcome.FINISHED
    [done] = sync_runtime.audit.recent("acme")
    assert done.status is AuditStatus.COMPLETED and _metadata_calls(dataverse_sandbox) == 3


def test_poison_message_is_dead_lettered_with_one_audit_row(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost
) -> None:
    queue = sync_runtime.queue
    assert isinstance(queue, StorageQueueAdapter)
    body = '{"version": 1, "account_id": "acme", "sync_type": "NoSuchSync", "run_id": "x"}'
    queue.queue.send_message(body)
    queue.queue.send_message(body)  # delivered twice: still one audit row

    host.drain()

    poison = queue.poison_messages()
    assert [p["body"] for p in poison] == [body, body]
    assert "sync_type" in poison[0]["reason"]
    [audit] = sync_runtime.audit.recent("acme")
    assert audit.status is AuditStatus.FAILED
    assert audit.message.startswith("Invalid sync request")
    assert "dead-letter" in audit.message
    assert str(audit.sync_type) == "NoSuchSync"


def test_message_for_a_disabled_account_changes_nothing_but_frees_the_schedule(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox
) -> None:
    admin.sync_now(sync_runtime, "acme", CRM)
    sync_runtime.accounts.save(acme.model_copy(update={"disabled": True}))

    outcome = Worker(sync_runtime).handle(_take_message(sync_runtime))

    assert outcome is Outcome.ACCOUNT_UNAVAILABLE
    assert _metadata_calls(dataverse_sandbox) == 0
    assert sync_runtime.schedules.get("acme", CRM).status is ScheduleStatus.NONE


def test_audit_purge_timer_removes_rows_older_than_30_days(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock
) -> None:
    admin.sync_now(sync_runtime, "acme", CRM)
    host.drain()
    assert len(sync_runtime.audit.recent("acme")) == 1

    clock.advance(days=29)
    host.fire_timer("audit_purge")
    assert len(sync_runtime.audit.recent("acme")) == 1
    clock.advance(days=2)
    host.fire_timer("audit_purge")
    assert sync_runtime.audit.recent("acme") == []


WORKER_SCRIPT = """
from shared.runtime import get_runtime
from shared.localhost.run import build_host
build_host(get_runtime()).process_once()
"""


def test_worker_killed_mid_run_is_replaced_after_its_lease_expires(
    settings: Settings,
    sandboxes: Sandboxes,
    dataverse_sandbox: DataverseSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Real clock, real process: a worker is SIGKILLed after its first checkpoint.
    # Short, but lease > budget + HTTP timeout + margin, as the settings require; the budget
    # outlasts the first checkpoint (answers take 1 s) so the worker is still running.
    lease = "6"
    times = {
        "RUN_TIME_BUDGET_SECONDS": "4",
        "HTTP_TIMEOUT_SECONDS": "1.5",
        "SLICE_MARGIN_SECONDS": "0.4",
    }
    env_settings = sync_settings(settings, sandboxes, RUN_LEASE_SECONDS=lease, **times)
    rt = Runtime(env_settings)
    account = EmailAccount(
        account_id="acme", name="Acme", api_user=sandboxes.credentials.api_user,
        api_password_secret_name=PASSWORD_SETTING,
    )  # fmt: skip
    rt.accounts.save(account)
    admin.sync_now(rt, "acme", CRM)
    run_id = rt.schedules.get("acme", CRM).run_id
    dataverse_sandbox.state.faults.latency_seconds = 1.0

    assert env_settings.storage_connection_string is not None
    env = {
        **os.environ,
        **sandboxes.settings_env(),
        "AzureWebJobsStorage": env_settings.storage_connection_string.get_secret_value(),
        "SYNC_QUEUE_BACKEND": "StorageQueue",
        "SYNC_QUEUE_NAME": env_settings.queue_name,
        "TABLE_PREFIX": env_settings.table_prefix,
        "RUN_LEASE_SECONDS": lease,
        **times,
        PASSWORD_SETTING: sandboxes.credentials.api_password,
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _done(rt, run_id) != ["contact"]:
            assert worker.poll() is None, "the worker finished before it could be killed"
            assert time.monotonic() < deadline, "the worker never checkpointed"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    record = rt.schedules.get("acme", CRM)
    assert record.status is ScheduleStatus.IN_PROGRESS and record.run_id == run_id

    dataverse_sandbox.state.faults.latency_seconds = 0.0
    install_runtime(rt)
    host = build_host(rt, visibility=timedelta(seconds=30))
    deadline = time.monotonic() + 30
    while rt.schedules.get("acme", CRM).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "nobody finished the run"
        if not host.process_once():  # the message reappears once its visibility expires
            time.sleep(0.3)

    install_runtime(None)
    [audit] = rt.audit.recent("acme")
    assert audit.status is AuditStatus.COMPLETED and audit.run_id == run_id
    calls = dataverse_sandbox.state.counters.calls("GET", ATTRIBUTES_TEMPLATE)
    contact_calls = sum(1 for call in calls if "'contact'" in call.path)
    assert contact_calls == 1  # resumed after the checkpoint, not from zero
    total = sum(len(dataverse_sandbox.state.attributes[e]) for e in ("contact", "lead", "account"))
    assert audit.counts.read == total  # counts saved with the cursor: nothing counted twice


def _done(rt: Runtime, run_id: str) -> object:
    """The entities a CrmMetadata run has checkpointed (its cursor as stored)."""
    saved = rt.state.load_checkpoint("acme", CRM, run_id).cursor
    return saved.get("state", {}).get("done")
