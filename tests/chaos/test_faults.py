"""Scenario 3: 10% of Dataverse and Dotdigital answers are 429 (with the API's come-back
header), 5xx, dropped connections or lost responses (applied, then the answer lost), drawn
from a seeded RNG; retries scaled down through settings. Every run completes with correct
data and an honest status: Completed with everything, or Completed With Errors / Failed
naming what failed, never Completed with data missing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox.faults import Faults
from sandbox.launch import Sandboxes
from shared.audit import AuditStatus
from shared.azurite import AzuriteProcess
from shared.pipeline import admin
from tests.chaos.conftest import SIZE
from tests.chaos.endstate import Reference, capture, dataverse_digest
from tests.chaos.harness import Broker
from tests.chaos.report import ChaosReport
from tests.chaos.world import LIST_NAME, OUT, build_world

RATE = 0.10
FAULT_NAMES = {"drop": "dropped connections", "lose": "lost responses"}  # else the status
PAGE_SIZE = 250  # twelve pages and imports: ~120 API requests, so ~12 of them go wrong


def inject(faults: Faults, seed: int, rate: float = RATE) -> None:
    """`rate` of the answers go wrong, in equal shares of five kinds."""
    faults.reset(seed)
    share = rate / 5
    faults.set_throttle(share, seconds=2)
    faults.set_error_rate(500, share)
    faults.set_error_rate(503, share)
    faults.set_drop_rate(share)
    faults.set_lose_rate(share)


@pytest.mark.parametrize("seed", range(1, SIZE.fault_runs + 1))
def test_runs_under_faults_complete_with_correct_data_and_honest_statuses(
    seed: int,
    reference: Reference,
    azurite: AzuriteProcess,
    sandboxes: Sandboxes,
    chaos_report: ChaosReport,
) -> None:
    spec = replace(reference.spec, page_size=PAGE_SIZE)
    world = build_world(azurite, sandboxes, spec)
    before = dataverse_digest(world)
    inject(sandboxes.dataverse.faults, seed)
    inject(sandboxes.dotdigital.faults, seed + 1000)
    admin.sync_now(world.runtime(), world.account_id, OUT)

    log = Broker(world).run_to_the_end()

    injected = sandboxes.dataverse.faults.injected + sandboxes.dotdigital.faults.injected
    sandboxes.dataverse.faults.reset()
    sandboxes.dotdigital.faults.reset()
    rt = world.runtime()
    [audit] = rt.audit.recent(world.account_id, sync_type=OUT)
    details = {d.item: d for d in rt.audit.details(world.account_id, audit.row_key)}
    got = capture(world)
    complete = got.book == reference.state.book and got.snapshot == reference.state.snapshot
    honest = (
        complete
        if audit.status is AuditStatus.COMPLETED
        else LIST_NAME in audit.message or audit.status is AuditStatus.FAILED
    )
    counts = [line for line in got.audit if line[0] == OUT.value]
    for kind, count in injected.items():
        chaos_report.tally("faults", FAULT_NAMES.get(kind, f"HTTP {kind}"), count)
    chaos_report.tally("faults", f"runs {audit.status.value}")
    chaos_report.record(
        "faults",
        honest and complete and got.dataverse == before,
        f"seed {seed}: {audit.status.value}, {'complete' if complete else 'data differs'}, "
        f"{log.deliveries} deliveries, faults {dict(injected)}; counts {counts}, "
        f"unfaulted {reference.state.audit[:1]}; "
        f"{audit.message[:200]}",
    )
    assert sum(injected.values()) > 0, "no fault was injected"
    assert honest, f"{audit.status.value} but data differs: {audit.message}"
    assert got.dataverse == before  # nothing written to Dynamics twice or by mistake
    assert got.contacts == len(got.book) and got.books_named == 1  # nothing created twice
    if audit.status is not AuditStatus.COMPLETED:  # the list's detail says what failed
        assert details[LIST_NAME].status is not AuditStatus.COMPLETED, details
    assert complete, f"{audit.status.value}: {audit.message}; {details}"
