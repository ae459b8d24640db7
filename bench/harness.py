"""What the sync-type benchmarks share: one timed run through the worker, the separate traced
run for memory, and the command line that measures each size and writes the report."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar


class Measured(Protocol):
    @property
    def peak_bytes(self) -> int | None: ...

    @property
    def delivered(self) -> bool: ...


R = TypeVar("R", bound=Measured)


@dataclass(frozen=True)
class Timed:
    wall_seconds: float
    cpu_seconds: float
    peak_bytes: int | None  # tracemalloc's peak, when traced
    audit: Any  # the run's AuditRecord


def timed_run(rt: Any, account_id: str, kind: Any, *, traced: bool) -> Timed:
    """Run `kind` for the account to completion through the worker, timed (and traced)."""
    from bench.product_runtime import run_to_completion

    if traced:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    run_to_completion(rt, account_id, kind)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if traced else None
    if traced:
        tracemalloc.stop()
    [audit] = rt.audit.recent(account_id, sync_type=kind, limit=1)
    return Timed(wall, cpu, peak, audit)


def bench_main(
    argv: list[str] | None,
    *,
    module: str,
    default_sizes: Sequence[int],
    results_file: Path,
    serve: Callable[[int, IO[str], IO[str]], None],
    run_size: Callable[..., R],
    render: Callable[[list[R], dict[str, Any]], str],
    summary: Callable[[R], str],
) -> int:
    """`python -m <module> [--sizes N ...] [--memory separate|same|off] [--output FILE]`: one
    fresh in-memory Azurite, each size measured (timed; with `separate`, its memory in a second,
    traced run so tracing does not slow the timed one), the report written. `--serve N` is the
    benchmark's sandbox process (bench.serve)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(default_sizes))
    parser.add_argument("--memory", choices=("separate", "same", "off"), default="separate")
    parser.add_argument("--output", type=Path, default=results_file)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, sys.stdin, sys.stdout)
        return 0
    from shared.azurite import start_azurite

    command = f"python -m {module} " + " ".join(sys.argv[1:] if argv is None else argv)
    started_at, started = datetime.now(UTC), time.perf_counter()
    azurite = start_azurite(in_memory=True)
    results: list[R] = []
    try:
        for size in sorted(set(args.sizes)):
            result = run_size(size, azurite, traced=args.memory == "same")
            if args.memory == "separate":
                traced = run_size(size, azurite, traced=True)
                result = dataclasses.replace(result, peak_bytes=traced.peak_bytes)  # type: ignore[type-var]
            print(f"{size:,}: {summary(result)}", flush=True)
            results.append(result)
    finally:
        azurite.stop()
    meta = {
        "command": command.strip(),
        "started": started_at,
        "seconds": time.perf_counter() - started,
        "load": ", ".join(f"{n:.1f}" for n in os.getloadavg()),
    }
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(render(results, meta))
        print(f"wrote {args.output}")
    return 0 if all(r.delivered for r in results) else 1
