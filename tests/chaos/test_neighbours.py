"""Scenario 5 (full size only, a figure for the report): one good account beside three whose
Dotdigital answers 500 to everything, two concurrent workers sharing one process (the local
host, one Runtime), real waits under a scaled-down retry policy. The good account's DataLabels
run time with those neighbours, as a ratio of its time alone. Asserting a bound is the job of
the runtime's own test (issue 8 item 5); here the ratio is measured and reported."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest

from sandbox.launch import Sandboxes
from shared.accounts import EmailAccount
from shared.azurite import AzuriteProcess
from shared.clients.retry import RetryPolicy
from shared.localhost.run import build_host
from shared.pipeline import admin
from shared.runtime import Runtime, install_runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.chaos.conftest import SIZE
from tests.chaos.report import ChaosReport
from tests.chaos.world import PASSWORD_SETTING, ChaosWorld, WorldSpec, build_world

LABELS = SyncType.DATA_LABELS
FAILING = ("down1", "down2", "down3")
# Real waits, scaled down: 4 retries of 0.5 s per call, a failed run retried 3 times at once.
SETTINGS = {"HTTP_MAX_RETRIES": "4", "HTTP_MAX_WAIT_SECONDS": "0.5", "RUN_RETRY_LIMIT": "3"}
LATENCY_SECONDS = 0.1  # network-like: the runs are mostly waits, the ratio steady on a busy box


def _good_run_seconds(world: ChaosWorld, rt: Runtime, *, with_neighbours: bool) -> float:
    """Wall time from Sync Now to the good account's schedule being free again."""
    host = build_host(rt, visibility=timedelta(seconds=60), poll_seconds=0.02, workers=2)
    neighbours = list(FAILING) if with_neighbours else []
    # One worker takes a failing account, the other the good one; the rest queue behind them.
    queued = [*neighbours[:1], "acme", *neighbours[1:]]
    started = time.monotonic()
    for account_id in queued:
        admin.sync_now(rt, account_id, LABELS)
    host.start()
    try:
        while rt.schedules.get("acme", LABELS).status is not ScheduleStatus.NONE:
            assert time.monotonic() - started < 120, "the good account's run never finished"
            time.sleep(0.02)
        return time.monotonic() - started
    finally:
        host.stop()


def _process_runtime(world: ChaosWorld) -> Runtime:
    """One worker process's Runtime, waiting for real (the lock contention is in real time)."""
    retry = RetryPolicy.from_settings(world.settings, rng=random.Random(5))
    return Runtime(world.settings, clock=world.clock, retry=retry)


@pytest.mark.skipif(not SIZE.neighbours, reason="measured in the full-size run (make chaos)")
def test_the_good_accounts_time_beside_failing_neighbours(
    azurite: AzuriteProcess, sandboxes: Sandboxes, chaos_report: ChaosReport
) -> None:
    alone_world = build_world(azurite, sandboxes, WorldSpec(members=10, settings=SETTINGS))
    sandboxes.dotdigital.faults.latency_seconds = LATENCY_SECONDS
    rt = _process_runtime(alone_world)
    install_runtime(rt)
    try:
        alone = _good_run_seconds(alone_world, rt, with_neighbours=False)
    finally:
        install_runtime(None)

    world = build_world(azurite, sandboxes, WorldSpec(members=10, settings=SETTINGS))
    dotdigital = sandboxes.dotdigital
    dotdigital.faults.latency_seconds = LATENCY_SECONDS
    for account_id in FAILING:
        user = f"apiuser-{account_id}@example.invalid"
        dotdigital.add_api_user(user, sandboxes.credentials.api_password)
        dotdigital.fail_user(user)
        world.runtime().accounts.save(
            EmailAccount(account_id=account_id, name=f"{account_id} newsletters", api_user=user,
                         api_password_secret_name=PASSWORD_SETTING)
        )  # fmt: skip
    rt = _process_runtime(world)
    install_runtime(rt)
    try:
        beside = _good_run_seconds(world, rt, with_neighbours=True)
    finally:
        install_runtime(None)

    ratio = beside / alone
    chaos_report.record("neighbours", True, f"alone {alone:.2f} s, with neighbours {beside:.2f} s")
    chaos_report.figure(
        "neighbours",
        f"good account {alone:.2f} s alone, {beside:.2f} s beside 3 failing ones: {ratio:.1f}x",
    )
