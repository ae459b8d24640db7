"""Killing the worker mid-run in end-to-end tests, then letting the redelivered message finish.

die_at_save(monkeypatch, runtime, 3)       # the worker dies as it saves checkpoint 3
assert run_until_killed(runtime, host, clock, "acme", sync_type)
audit = finish_after_lease(runtime, host, clock, "acme", sync_type)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from shared.audit import AuditRecord
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import EVERY_5


class Killed(BaseException):
    """The worker process dies: nothing after this point of the slice happens."""


def die_at_save(
    monkeypatch: pytest.MonkeyPatch,
    runtime: Runtime,
    die_at: int,
    on_save: Callable[[int], None] | None = None,
) -> None:
    """The worker dies just before checkpoint number `die_at` is saved (after that unit's
    writes); `on_save` sees every save's number first (to arm a fault for the next slice)."""
    real_save = runtime.state.save_checkpoint
    saves = 0

    def save_checkpoint(*args: Any, **kwargs: Any) -> None:
        nonlocal saves
        saves += 1
        if on_save is not None:
            on_save(saves)
        if saves == die_at:
            raise Killed
        real_save(*args, **kwargs)

    monkeypatch.setattr(runtime.state, "save_checkpoint", save_checkpoint)


def run_until_killed(
    rt: Runtime, host: LocalHost, clock: ManualClock, account_id: str, sync_type: SyncType
) -> bool:
    """Fire the schedule and work the queue until the worker dies (False: it never did)."""
    admin.set_schedule(rt, account_id, sync_type, EVERY_5)
    record = rt.schedules.get(account_id, sync_type)
    assert record.next_sync is not None
    clock.now = record.next_sync
    host.fire_timer("scheduler_tick")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if not host.process_once():
                time.sleep(0.2)
        except Killed:
            return True
    return False


def finish_after_lease(
    rt: Runtime, host: LocalHost, clock: ManualClock, account_id: str, sync_type: SyncType
) -> AuditRecord:
    """The dead worker's lease runs out; workers take the redelivered message until the run
    is over. The run's audit row (the only run of the type so far)."""
    clock.advance(seconds=rt.settings.run_lease_seconds + 5)
    deadline = time.monotonic() + 40
    while rt.schedules.get(account_id, sync_type).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "nobody finished the run"
        if not host.process_once():  # the message comes back once its visibility expires
            time.sleep(0.2)
    [audit] = rt.audit.recent(account_id, sync_type=sync_type)
    return audit
