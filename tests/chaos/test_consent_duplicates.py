"""The consent sync types paused at every checkpoint, every message delivered twice and an
earlier one replayed after it: the same rows, list and audit (counts and messages) as a single
delivery of each message, and no copy runs a slice."""

from __future__ import annotations

import pytest

from sandbox.launch import Sandboxes
from shared.azurite import AzuriteProcess
from shared.pipeline import admin
from shared.pipeline.worker import Outcome
from tests.chaos.consent import (
    CASE_IDS,
    CASES,
    ConsentCase,
    build_consent_world,
    capture_consent,
    reference_for,
)
from tests.chaos.harness import Broker
from tests.chaos.report import ChaosReport
from tests.fixtures.runtime import pause_at_every_checkpoint

WORK = {Outcome.FINISHED.value, Outcome.PAUSED.value, Outcome.RETRYING.value}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_duplicated_and_replayed_consent_messages_change_nothing(
    case: ConsentCase,
    azurite: AzuriteProcess,
    sandboxes: Sandboxes,
    chaos_report: ChaosReport,
) -> None:
    expected = reference_for(case, azurite, sandboxes).state
    world = build_consent_world(azurite, sandboxes, case)
    admin.sync_now(world.runtime(), world.account_id, case.sync_type)

    with pause_at_every_checkpoint():  # as a slice whose time budget is spent at each one
        log = Broker(world, duplicate=True, seed=3, sync_type=case.sync_type).run_to_the_end()

    slices = sum(o in WORK for o in log.outcomes)
    problems = expected.differences(capture_consent(world))
    copies_worked = [o for o in log.outcomes if o.startswith("copy") and o[6:] in WORK]
    if copies_worked:
        problems.append(f"{len(copies_worked)} copies ran a slice of the run")
    delivered = (
        f"{case.name}: {log.deliveries} deliveries ({log.duplicates_sent} duplicates, "
        f"{log.replays_sent} replays) over a run of {slices} slices"
    )
    chaos_report.record("consent duplicates", not problems, f"{delivered}: {'; '.join(problems)}")
    chaos_report.figure("consent duplicates", delivered)
    assert slices > 3, log  # the run did pause at its pages
    assert log.duplicates_sent >= slices and log.replays_sent >= slices - 1
    assert not problems, "\n".join(problems)
