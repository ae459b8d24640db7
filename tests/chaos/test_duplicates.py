"""Scenario 2: a run that pauses at every checkpoint (as if its time budget ran out there), with
every message delivered twice and an earlier message replayed after each one: no contact,
import or audit row twice, the same counts as a single delivery, and no copy runs a slice."""

from __future__ import annotations

from sandbox.launch import Sandboxes
from shared.azurite import AzuriteProcess
from shared.pipeline import admin
from shared.pipeline.worker import Outcome
from tests.chaos.endstate import Reference, capture
from tests.chaos.harness import Broker
from tests.chaos.report import ChaosReport
from tests.chaos.world import OUT, WorldSpec, build_world
from tests.fixtures.runtime import pause_at_every_checkpoint

SPEC = WorldSpec(members=3000)
WORK = {Outcome.FINISHED.value, Outcome.PAUSED.value, Outcome.RETRYING.value}


def test_duplicated_and_replayed_messages_change_nothing(
    reference: Reference,
    azurite: AzuriteProcess,
    sandboxes: Sandboxes,
    chaos_report: ChaosReport,
) -> None:
    expected = reference.state  # a single delivery of each message, in one slice
    imports = sum(op.startswith("http PUT") and op.endswith("/contacts/v3/import (before sending)")
                  for op in reference.trace)  # fmt: skip
    world = build_world(azurite, sandboxes, SPEC)
    admin.sync_now(world.runtime(), world.account_id, OUT)

    with pause_at_every_checkpoint():  # as a slice whose time budget is spent at each one
        log = Broker(world, duplicate=True, seed=2).run_to_the_end()

    slices = sum(o in WORK for o in log.outcomes)  # the originals' slices
    assert slices > 3, log  # the run did pause several times
    got = capture(world)
    problems = expected.differences(got)
    if len(sandboxes.dotdigital.imports) != imports:
        problems.append(f"{len(sandboxes.dotdigital.imports)} imports, expected {imports}")
    copies_worked = [o for o in log.outcomes if o.startswith("copy") and o[6:] in WORK]
    if copies_worked:
        problems.append(f"{len(copies_worked)} copies ran a slice of the run")
    delivered = (
        f"{log.deliveries} deliveries ({log.duplicates_sent} duplicates, {log.replays_sent} "
        f"replays) over a run of {slices} slices"
    )
    chaos_report.record("duplicates", not problems, f"{delivered}: {'; '.join(problems)}")
    chaos_report.figure("duplicates", delivered)
    assert log.duplicates_sent >= slices and log.replays_sent >= slices - 1
    assert got.contacts == len(got.book) and got.books_named == 1  # no contact or book twice
    assert len(got.audit) == len(expected.audit)  # no audit row twice
    assert not problems, "\n".join(problems)
