"""The preferences benchmark still runs and still counts right, at a small size.

It runs the real benchmark (a sandbox process, Azurite, the worker) and checks outcomes and
request counts only: the rows match the platform, each run sends the protocol minimum (the
first also msal's metadata request, its token and the region discovery), the idle run has
nothing to do. No timing assertions: `python -m bench.marketing_preferences` reports them.
"""

from __future__ import annotations

import pytest

from bench.marketing_preferences import BenchResult, measure, render
from shared.azurite import start_azurite

RECORDS = 300
PREFERENCES = 10
FIRST_RUN_OVERHEAD = 3  # msal's metadata, the token, Dotdigital's account-info


@pytest.fixture(scope="module")
def result() -> BenchResult:
    azurite = start_azurite(in_memory=True)
    try:
        return measure(RECORDS, PREFERENCES, azurite, share=0.01, memory="off")
    finally:
        azurite.stop()


def test_every_record_and_preference_matches_the_platform(result: BenchResult) -> None:
    assert result.correct, (result.rows, result.expected_rows)
    assert result.opted_in_rows > 0


def test_each_run_sends_the_protocol_minimum(result: BenchResult) -> None:
    first, changed, idle = result.runs
    assert first.total == sum(first.minimum.values()) + FIRST_RUN_OVERHEAD
    assert changed.total == sum(changed.minimum.values())
    assert idle.total == sum(idle.minimum.values())
    assert idle.message == "No new objects to sync"
    assert changed.counts["updated"] > 0 and changed.counts["failed"] == 0


def test_the_report_renders(result: BenchResult) -> None:
    markdown = render(result, command="python -m bench.marketing_preferences", memory="off")
    assert "| first run |" in markdown and "Correct: yes" in markdown
