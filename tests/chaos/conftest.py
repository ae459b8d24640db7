"""Chaos suite fixtures: the size (CHAOS_SIZE=small in `make test`, full in `make chaos`) and
the results table the full run writes to bench/results/chaos.md."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sandbox.launch import Sandboxes
from shared.azurite import PROJECT_ROOT, AzuriteProcess
from tests.chaos.endstate import Reference, reference_run
from tests.chaos.report import ChaosReport
from tests.chaos.world import WorldSpec


@dataclass(frozen=True)
class Size:
    name: str
    kill_points: int  # sampled kill points (0: every point)
    fault_runs: int  # runs under 10% faults
    neighbours: bool  # measure the failing-neighbours ratio


SMALL = Size("small", kill_points=13, fault_runs=1, neighbours=False)
FULL = Size("full", kill_points=0, fault_runs=20, neighbours=True)
SIZE = FULL if os.environ.get("CHAOS_SIZE") == "full" else SMALL
RESULTS = PROJECT_ROOT / "bench" / "results" / "chaos.md"


@pytest.fixture(scope="session")
def size() -> Size:
    return SIZE


@pytest.fixture(scope="session")
def chaos_report() -> Iterator[ChaosReport]:
    report = ChaosReport(SIZE.name)
    yield report
    if SIZE is FULL and report.complete():  # a whole full-size run, not a selection
        RESULTS.write_text(report.render())


@pytest.fixture(scope="session")
def reference(azurite: AzuriteProcess, sandboxes: Sandboxes) -> Reference:
    """The 3,000-member push nobody disturbed, with every boundary operation it made."""
    return reference_run(azurite, sandboxes, WorldSpec(members=3000))
