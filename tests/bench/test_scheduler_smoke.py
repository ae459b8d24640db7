"""The scheduler benchmark still runs and still counts right, at a small size.

It runs the real benchmark case (fresh tables in the session's Azurite, the real scheduler, a
Service Bus adapter building real batches) and checks what was enqueued and how the Table
requests scale, never the times: `python -m bench.scheduler` reports those.
"""

from __future__ import annotations

from bench.scheduler import CaseResult, render_markdown, run_case
from shared.azurite import AzuriteProcess
from shared.storage.due_index import SHARDS
from shared.sync_types import SyncType

ACCOUNTS = 40


def test_every_due_schedule_is_enqueued_once_in_one_tick(azurite: AzuriteProcess) -> None:
    result = run_case(azurite, ACCOUNTS, 0.5, seed=3)

    assert result.due > 0
    assert result.enqueued == result.unique_runs == result.due
    assert result.ticks == 1 and result.first_tick_enqueued == result.due
    # Reads: the index shards, one range scan of accounts and one of schedules; writes: one
    # transaction per account, the index rows in transactions per shard. Never per schedule.
    index_reads = SHARDS + 1
    assert result.table_requests <= index_reads * 2 + 2 + ACCOUNTS + 4 * SHARDS
    assert result.table_requests < result.due


def test_an_idle_tick_reads_only_the_index(azurite: AzuriteProcess) -> None:
    result = run_case(azurite, ACCOUNTS, 0.0, seed=3)

    assert result.due == result.enqueued == 0
    # One query per index partition, and one of the webhook targets left without a run.
    assert result.table_requests == SHARDS + 1 + 1


def test_the_report_renders(azurite: AzuriteProcess) -> None:
    results: list[CaseResult] = [run_case(azurite, 10, 1.0, seed=1)]
    text = render_markdown(results, "python -m bench.scheduler --accounts 10 --due 1")
    assert f"| 10 | 100% | {10 * len(SyncType)} |" in text
