"""Benchmark: many Dataverse contact updates through UpdateMultiple against `$batch`.

    python -m bench.dataverse_bulk [--sizes 10000 100000] [--chunk-size 1000] [--memory MODE]

Each case (size x path) runs against a fresh sandbox process seeded with that many contacts
(`bench.sandbox_process`), with the product's real client (`DataverseClient.update_multiple`,
`via_batch` forcing one path) on an httpx client that counts every request and its body bytes
(`bench.calls`). Both paths send `--chunk-size` records per HTTP request (1,000: Microsoft's
suggested start for bulk messages and the `$batch` maximum). Reported: Dataverse requests and
request bytes (client side, checked against the sandbox's own count), wall time, peak traced
memory (tracemalloc, a second pass unless `--memory same|off`), and that every contact was
updated. The sandbox shows requests and bytes only: it does not simulate the server-side gain
Microsoft documents for the bulk messages, which the results page cites instead.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.calls import DATAVERSE, CallLog
from bench.push import real_clients
from bench.sandbox_process import SandboxProcess
from shared.clients import DataverseClient, RetryPolicy
from shared.clients.dataverse.bulk import DEFAULT_CHUNK_SIZE

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "dataverse_bulk.md"
DEFAULT_SIZES = (10_000, 100_000)
BULK = "UpdateMultiple"
BATCH = "$batch"
PATHS = (BULK, BATCH)
WRITE_ROUTES = {
    BULK: "POST /api/data/v9.2/contacts/Microsoft.Dynamics.CRM.UpdateMultiple",
    BATCH: "POST /api/data/v9.2/$batch",
}
MEMORY_MODES = ("separate", "same", "off")
READING = [
    "At the same records per request both paths send the same number of requests; on the wire",
    "a bulk target is the record's JSON, a `$batch` part adds its own HTTP head per record",
    "(method, URL, headers), hence the bytes. Microsoft's guidance for `$batch` is smaller",
    "batches (start around 10) sent in parallel (`api-limits.md`), i.e. more requests still.",
]
MICROSOFT_CLAIM = [
    "## The server side: Microsoft's documented claim, not simulated",
    "",
    "The sandbox applies a bulk message and a `$batch` alike, so the table above shows only",
    "what the client sends. The gain on the server is Microsoft's claim, quoted from \"Use",
    'bulk operation messages" (MicrosoftDocs/powerapps-docs',
    "`powerapps-docs/developer/data-platform/bulk-operations.md`; learn.microsoft.com",
    "`/power-apps/developer/data-platform/bulk-operations`):",
    "",
    '- "To get the best performance when you run operations on multiple rows of a Microsoft',
    '  Dataverse table, use one of the following bulk operation messages".',
    '- Standard tables: "Operations are more efficient with a larger number of records.',
    "  There's no limit on the number of records, but there are message size and time",
    '  limits"; "Generally, we expect that 1,000 records per request is a reasonable place to',
    '  start if the size of the record data is small and there are no plug-ins."',
    '- "Each bulk operation message counts as single request that accrues to the limit of',
    '  6,000 requests per user, per server, during the five-minute window" (service',
    "  protection); each target still counts toward the Power Platform request entitlement.",
    '- Standard tables: "Any error that occurs in a bulk operation with a standard table causes',
    '  the entire operation to roll back": the client halves a refused request until the bad',
    "  records stand alone, so one bad record among n costs about 2 log2(n) extra requests.",
]


@dataclass(frozen=True)
class CaseResult:
    records: int
    path: str
    requests: int  # write requests the client sent (timed pass)
    server_requests: int  # the same, as the sandbox counted them
    bytes_sent: int
    wall_seconds: float
    peak_bytes: int | None
    updated: int  # contacts carrying the last pass's value afterwards
    failures: int

    @property
    def bytes_per_record(self) -> float:
        return self.bytes_sent / self.records


def _ids(dataverse: DataverseClient) -> list[str]:
    return [
        str(record["contactid"])
        for page in dataverse.iter_pages("contacts", ["contactid"])
        for record in page.records
    ]


def _updated(dataverse: DataverseClient, marker: str) -> int:
    return sum(
        1
        for page in dataverse.iter_pages("contacts", ["jobtitle"])
        for record in page.records
        if record.get("jobtitle") == marker
    )


def _write(
    dataverse: DataverseClient, ids: Sequence[str], marker: str, path: str, chunk_size: int
) -> int:
    """One pass of updates; returns the records refused."""
    records = [(contact_id, {"jobtitle": marker}) for contact_id in ids]
    outcome = dataverse.update_multiple(
        "contacts", records, chunk_size=chunk_size, via_batch=path == BATCH
    )
    return len(outcome.failures)


def run_case(records: int, path: str, *, chunk_size: int, memory: str) -> CaseResult:
    with SandboxProcess(records) as sandbox:
        endpoints = sandbox.endpoints
        log = CallLog(endpoints.dataverse_url, (endpoints.dotdigital_url,))
        with real_clients(endpoints, log, RetryPolicy()) as (dataverse, _):
            ids = _ids(dataverse)
            before = log.count(DATAVERSE, WRITE_ROUTES[path])
            gc.collect()
            if memory == "same":
                tracemalloc.start()
            started = time.perf_counter()
            failures = _write(dataverse, ids, "timed", path, chunk_size)
            wall = time.perf_counter() - started
            peak: int | None = None
            if memory == "same":
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            requests = log.count(DATAVERSE, WRITE_ROUTES[path]) - before
            sent = log.bytes_sent(DATAVERSE, WRITE_ROUTES[path])
            marker = "timed"
            if memory == "separate":
                gc.collect()
                tracemalloc.start()
                _write(dataverse, ids, "traced", path, chunk_size)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                marker = "traced"
            updated = _updated(dataverse, marker)
        outcome = sandbox.finish()
    server_route = f"dataverse {WRITE_ROUTES[path].split(' ')[0]} " + (
        "/api/data/v9.2/{entity_set}/Microsoft.Dynamics.CRM.{message}"
        if path == BULK
        else "/api/data/v9.2/$batch"
    )
    passes = 2 if memory == "separate" else 1
    server_requests = outcome.server_calls.get(server_route, 0) // passes
    return CaseResult(
        records=records,
        path=path,
        requests=requests,
        server_requests=server_requests,
        bytes_sent=sent,
        wall_seconds=wall,
        peak_bytes=peak,
        updated=updated,
        failures=failures,
    )


def run_benchmark(
    sizes: Sequence[int], *, chunk_size: int = DEFAULT_CHUNK_SIZE, memory: str = "separate"
) -> list[CaseResult]:
    return [
        run_case(size, path, chunk_size=chunk_size, memory=memory)
        for size in sizes
        for path in PATHS
    ]


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1_000_000:.1f}"


def _yes(result: CaseResult) -> str:
    return "yes" if result.updated == result.records and not result.failures else "NO"


def render_markdown(results: Sequence[CaseResult], *, chunk_size: int, memory: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark: contact updates through UpdateMultiple against $batch",
        "",
        f"Generated by `python -m bench.dataverse_bulk` ({when}); {chunk_size} records per "
        f"request on both paths; memory: {memory}.",
        "",
        f"- Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, shared with other jobs: wall times are indicative.",
        "- Each case: a fresh sandbox process seeded with that many contacts; the product's",
        "  `DataverseClient.update_multiple` sets `jobtitle` on every contact, through",
        "  UpdateMultiple or (`via_batch=True`) `$batch` of `PATCH contacts(<id>)` with",
        "  `If-Match: *`. Requests and bytes are the client's (request bodies), requests",
        "  checked against the sandbox's count; peak memory is this process's (tracemalloc).",
        "",
        "| records | path | requests | sandbox count | MB sent | bytes per record "
        "| wall (s) | peak MB | all updated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.records:,} | {r.path} | {r.requests:,} | {r.server_requests:,} "
            f"| {_mb(r.bytes_sent)} | {r.bytes_per_record:.0f} | {r.wall_seconds:.1f} "
            f"| {_mb(r.peak_bytes)} | {_yes(r)} |"
        )
    return "\n".join([*lines, "", *READING, "", *MICROSOFT_CLAIM]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dataverse_bulk")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--memory", choices=MEMORY_MODES, default="separate")
    parser.add_argument("--output", type=Path, default=None, help="write the markdown here")
    args = parser.parse_args(argv)
    results = run_benchmark(args.sizes, chunk_size=args.chunk_size, memory=args.memory)
    markdown = render_markdown(results, chunk_size=args.chunk_size, memory=args.memory)
    sys.stdout.write(markdown)
    if args.output is not None:
        args.output.write_text(markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
