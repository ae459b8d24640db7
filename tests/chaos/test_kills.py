"""Scenario 1: a MarketingListsDataOut push of a 3,000-member list to a new address book, the
worker killed at operation N (a Table entity read or write, a queue send/receive/delete, an
HTTP request before it is sent or after it was answered) and the message redelivered to
fresh workers: the end state and the audit equal those of a run nobody killed."""

from __future__ import annotations

import random

import pytest

from sandbox.launch import Sandboxes
from shared.azurite import AzuriteProcess
from shared.pipeline import admin
from tests.chaos.conftest import SIZE
from tests.chaos.endstate import Reference, capture
from tests.chaos.harness import Broker, KillSwitch
from tests.chaos.report import ChaosReport
from tests.chaos.world import OUT, build_world

SEED = 8
MAX_OPERATIONS = 150  # the full size kills at every operation: about 100 in this run


def kill_points(trace: list[str]) -> list[int]:
    """The operations to kill at (1-based). Full size: every one. Small: the lost answers of
    every write to an API (where the platform has moved on and the checkpoint has not), then
    a seeded sample of the rest."""
    every = list(range(1, len(trace) + 1))
    if SIZE.kill_points == 0:
        return every
    writes = [
        n for n, op in zip(every, trace, strict=True)
        if op.startswith("http ") and not op.startswith("http GET")
        and op.endswith("(answer lost)") and "/oauth2/" not in op
    ]  # fmt: skip
    others = [n for n in every if n not in writes]
    sampled = random.Random(SEED).sample(others, max(SIZE.kill_points - len(writes), 0))
    return sorted(writes[: SIZE.kill_points] + sampled)


@pytest.mark.parametrize("n", range(SIZE.kill_points or MAX_OPERATIONS))
def test_a_run_killed_at_any_operation_ends_like_an_unkilled_one(
    n: int,
    reference: Reference,
    azurite: AzuriteProcess,
    sandboxes: Sandboxes,
    chaos_report: ChaosReport,
) -> None:
    points = kill_points(reference.trace)
    assert len(points) <= MAX_OPERATIONS, "more operations than kill tests: raise MAX_OPERATIONS"
    if n >= len(points):
        pytest.skip(f"the run makes {len(points)} operations")
    world = build_world(azurite, sandboxes, reference.spec)
    admin.sync_now(world.runtime(), world.account_id, OUT)
    switch = KillSwitch(kill_at=points[n])

    log = Broker(world, switch).run_to_the_end()

    differences = reference.state.differences(capture(world))
    chaos_report.record(
        "kills", not differences, f"killed at {switch.killed_at}: {'; '.join(differences)}"
    )
    assert log.kills == 1, log
    assert not differences, f"killed at {switch.killed_at}:\n" + "\n".join(differences)
