"""Benchmark: the scheduler tick with many accounts and many schedules due at once.

    python -m bench.scheduler [--accounts 1000 10000] [--due 0 0.01 0.1 1]

Each case seeds a fresh set of tables in one Azurite (in memory): `accounts` email accounts
with one schedule per sync type each ("1 hour", any time), of which a seeded random `due`
fraction falls due now and the rest in 30 minutes. Then it runs scheduler ticks at that moment
until one enqueues nothing, and reports: ticks, wall time, this process's CPU time per due
schedule (the product, the Table SDK and its HTTP stack: Azurite runs in Node, apart), Table
Storage requests, and the messages and batches sent. Every sync type is offered (a registry that
has them all), so every due schedule is enqueued.

The queue is the Service Bus adapter over a sender that builds real `ServiceBusMessageBatch`es
and sends them nowhere (there is no Service Bus emulator without Docker): message building and
batching are measured, the AMQP round trip is not. Figures are from one run on a shared
machine: read them as ratios between cases, not as absolute targets.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.data.tables import TableServiceClient
from azure.servicebus import ServiceBusMessage, ServiceBusMessageBatch

from shared.accounts import EmailAccount, Platform
from shared.azurite import AzuriteProcess, start_azurite
from shared.messaging.service_bus import ServiceBusAdapter
from shared.pipeline.scheduler import Scheduler
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.settings import QueueBackend, Settings
from shared.storage import accounts_repo
from shared.storage.schedules_repo import ScheduleRecord, ScheduleStatus
from shared.storage.tables import TABLES, Tables
from shared.sync_types import SyncType

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "scheduler.md"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOURLY = ScheduleSpec(interval=Interval.HOURS_1)
MAX_TICKS = 400


class AllTypes:
    """A registry that offers every sync type, so every due schedule is enqueued."""

    def available(self, platform: Platform, sync_type: SyncType) -> bool:
        return True


class CountingSender:
    """Builds real Service Bus batches; sends nothing. Counts senders, batches, messages."""

    def __init__(self) -> None:
        self.batches = 0
        self.messages = 0
        self.run_ids: list[str] = []

    def create_message_batch(self) -> ServiceBusMessageBatch:
        return ServiceBusMessageBatch(max_size_in_bytes=256 * 1024)

    def send_messages(self, message: ServiceBusMessage | ServiceBusMessageBatch) -> None:
        if isinstance(message, ServiceBusMessageBatch):
            messages: list[ServiceBusMessage] = list(message._messages)
        else:
            messages = [message]
        self.batches += 1
        self.messages += len(messages)
        self.run_ids.extend(str(m.message_id).rsplit("-", 1)[0] for m in messages)

    def close(self) -> None:
        pass


@dataclass
class RequestCounter:
    count: int = 0

    def __call__(self, request: Any) -> None:
        self.count += 1


@dataclass
class CaseResult:
    accounts: int
    due_fraction: float
    due: int
    enqueued: int
    unique_runs: int
    ticks: int
    wall_seconds: float
    cpu_seconds: float
    table_requests: int
    batches: int
    first_tick_enqueued: int
    first_tick_seconds: float
    tick_seconds: list[float] = field(default_factory=list)

    @property
    def cpu_ms_per_due(self) -> float:
        return 1000 * self.cpu_seconds / self.due if self.due else 0.0

    @property
    def requests_per_due(self) -> float:
        return self.table_requests / self.due if self.due else 0.0


def _runtime(azurite: AzuriteProcess, counter: RequestCounter) -> tuple[Runtime, CountingSender]:
    settings = Settings(
        AzureWebJobsStorage=azurite.connection_string,
        SYNC_QUEUE_BACKEND=QueueBackend.SERVICE_BUS,
        TABLE_PREFIX=f"b{uuid.uuid4().hex[:10]}",
    )
    sender = CountingSender()
    clock = lambda: NOW  # noqa: E731
    rt = Runtime(settings, clock=clock, queue=ServiceBusAdapter(lambda: sender, clock=clock))
    service = TableServiceClient.from_connection_string(
        azurite.connection_string, raw_request_hook=counter
    )
    rt.__dict__["tables"] = Tables(service, settings.table_prefix)
    rt.registry = AllTypes()  # type: ignore[assignment]
    return rt, sender


def _seed(rt: Runtime, accounts: int, due_fraction: float, rng: random.Random) -> int:
    """Accounts and their schedules (one per sync type), in transactions (one per account)."""
    table = rt.tables.client("EmailAccounts")
    ids = [f"acct{n:06d}" for n in range(accounts)]
    for start in range(0, accounts, 100):
        for account_id in ids[start : start + 100]:
            table.upsert_entity(
                accounts_repo.to_entity(EmailAccount(account_id=account_id, name=account_id))
            )
    records = []
    due = 0
    for account_id in ids:
        for sync_type in SyncType:
            is_due = rng.random() < due_fraction
            due += is_due
            moment = NOW - timedelta(minutes=1) if is_due else NOW + timedelta(minutes=30)
            records.append(
                ScheduleRecord(
                    account_id, sync_type, spec=HOURLY, status=ScheduleStatus.NONE,
                    next_sync=moment, due_at=moment,
                )
            )  # fmt: skip
    save_many = getattr(rt.schedules, "save_many", None)
    if save_many is not None:
        save_many(records)
    else:  # the scheduler before batching had only single saves
        for record in records:
            rt.schedules.save(record)
    return due


def run_case(azurite: AzuriteProcess, accounts: int, due_fraction: float, seed: int) -> CaseResult:
    counter = RequestCounter()
    rt, sender = _runtime(azurite, counter)
    try:
        return _measure(rt, sender, counter, accounts, due_fraction, seed)
    finally:  # Azurite keeps every table in memory: drop this case's
        for name in TABLES:
            rt.tables.service.delete_table(f"{rt.settings.table_prefix}{name}")


def _measure(
    rt: Runtime,
    sender: CountingSender,
    counter: RequestCounter,
    accounts: int,
    due_fraction: float,
    seed: int,
) -> CaseResult:
    due = _seed(rt, accounts, due_fraction, random.Random(seed))
    scheduler = Scheduler(rt)
    counter.count = 0
    tick_seconds: list[float] = []
    enqueued_per_tick: list[int] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(MAX_TICKS):
        t0 = time.perf_counter()
        report = scheduler.tick()
        tick_seconds.append(time.perf_counter() - t0)
        enqueued_per_tick.append(len(report.enqueued))
        if not report.enqueued:
            break
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return CaseResult(
        accounts=accounts,
        due_fraction=due_fraction,
        due=due,
        enqueued=sender.messages,
        unique_runs=len(set(sender.run_ids)),
        ticks=sum(1 for n in enqueued_per_tick if n),
        wall_seconds=wall,
        cpu_seconds=cpu,
        table_requests=counter.count,
        batches=sender.batches,
        first_tick_enqueued=enqueued_per_tick[0],
        first_tick_seconds=tick_seconds[0],
        tick_seconds=tick_seconds,
    )


def render_markdown(results: Sequence[CaseResult], command: str) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "# Benchmark: the scheduler tick at scale",
        "",
        f"Generated by `{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC).",
        "",
        f"- Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, shared with other jobs (load average {load}). Azurite "
        "(in memory) runs in Node; CPU is this process's only (product, Table SDK, HTTP stack).",
        "- Each case: fresh tables, accounts x one schedule per sync type ('1 hour', any time), a "
        "seeded random fraction due now; ticks at that moment until one enqueues nothing. "
        "Queue: the Service Bus adapter building real message batches, sent nowhere.",
        "",
        "| accounts | due | due schedules | ticks | first tick: enqueued, s | wall (s) | "
        "CPU per due (ms) | Table requests | requests per due | message batches | "
        "enqueued once |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        once = "yes" if r.enqueued == r.unique_runs == r.due else f"no ({r.enqueued}/{r.due})"
        lines.append(
            f"| {r.accounts:,} | {r.due_fraction:.0%} | {r.due:,} | {r.ticks} | "
            f"{r.first_tick_enqueued:,}, {r.first_tick_seconds:.1f} | {r.wall_seconds:.1f} | "
            f"{r.cpu_ms_per_due:.2f} | {r.table_requests:,} | {r.requests_per_due:.2f} | "
            f"{r.batches:,} | {once} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler")
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--due", type=float, nargs="+", default=[0.0, 0.01, 0.1, 1.0])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    azurite = start_azurite(in_memory=True)
    results = []
    try:
        for accounts in args.accounts:
            for fraction in args.due:
                result = run_case(azurite, accounts, fraction, args.seed)
                results.append(result)
                print(
                    f"{accounts} accounts, {fraction:.0%} due: {result.due} due, "
                    f"{result.enqueued} enqueued in {result.ticks} ticks, "
                    f"{result.wall_seconds:.1f} s, {result.cpu_ms_per_due:.2f} ms CPU/due, "
                    f"{result.table_requests} requests",
                    flush=True,
                )
    finally:
        azurite.stop()
    command = "python -m bench.scheduler " + " ".join(sys.argv[1:] if argv is None else argv)
    text = render_markdown(results, command.strip())
    print(text)
    if not args.no_write:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
