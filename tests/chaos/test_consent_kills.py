"""The consent sync types (Unsubscribes, ContactOptIn) killed at operation N of a run of several
pages and redelivered to fresh workers: the Dynamics rows, the list, the platform and the
audit (counts and messages) equal those of a run nobody killed."""

from __future__ import annotations

import random

import pytest

from sandbox.launch import Sandboxes
from shared.azurite import AzuriteProcess
from shared.pipeline import admin
from tests.chaos.conftest import SIZE
from tests.chaos.consent import (
    CASE_IDS,
    CASES,
    ConsentCase,
    build_consent_world,
    capture_consent,
    reference_for,
)
from tests.chaos.harness import Broker, KillSwitch
from tests.chaos.report import ChaosReport

SEED = 10
SAMPLE = 6  # kill points per type in the small size: the lost answers of writes first
MAX_OPERATIONS = 220  # the full size kills at every operation (up to ~170 here)


def kill_points(trace: list[str]) -> list[int]:
    """Full size: every operation. Small: the lost answer of the last `$batch` before a
    checkpoint (a page's writes: applied, then the worker dies) at the start, middle and end
    of the run, then a seeded sample of the rest."""
    every = list(range(1, len(trace) + 1))
    if SIZE.kill_points == 0:
        return every
    writes: list[int] = []
    last_batch = 0
    for n, op in zip(every, trace, strict=True):
        if op.startswith("http POST") and op.endswith("$batch (answer lost)"):
            last_batch = n
        elif op == "table upsert_entity SyncState" and last_batch and last_batch not in writes:
            writes.append(last_batch)
    spread = sorted({writes[0], writes[len(writes) // 2], writes[-1]}) if writes else []
    others = [n for n in every if n not in spread]
    sampled = random.Random(SEED).sample(others, max(SAMPLE - len(spread), 0))
    return sorted(spread + sampled)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("n", range(SAMPLE if SIZE.kill_points else MAX_OPERATIONS))
def test_a_consent_run_killed_at_any_operation_ends_like_an_unkilled_one(
    n: int,
    case: ConsentCase,
    azurite: AzuriteProcess,
    sandboxes: Sandboxes,
    chaos_report: ChaosReport,
) -> None:
    reference = reference_for(case, azurite, sandboxes)
    points = kill_points(reference.trace)
    assert len(points) <= MAX_OPERATIONS, "more operations than kill tests: raise MAX_OPERATIONS"
    if n >= len(points):
        pytest.skip(f"the run makes {len(points)} operations")
    world = build_consent_world(azurite, sandboxes, case)
    admin.sync_now(world.runtime(), world.account_id, case.sync_type)
    switch = KillSwitch(kill_at=points[n])

    log = Broker(world, switch, sync_type=case.sync_type).run_to_the_end()

    differences = reference.state.differences(capture_consent(world))
    chaos_report.record(
        "consent kills",
        not differences,
        f"{case.name} killed at {switch.killed_at}: {'; '.join(differences)}",
    )
    chaos_report.tally("consent kills", f"{case.name} kills")
    assert log.kills == 1, log
    assert not differences, f"killed at {switch.killed_at}:\n" + "\n".join(differences)
