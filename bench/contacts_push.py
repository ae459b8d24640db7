"""Benchmark: Dataverse contacts pushed into a Dotdigital address book.

    python -m bench.contacts_push [--sizes 10000 100000 200000] [--naive-sizes 10000]

Cases run one after the other in this process, each against a fresh sandbox process seeded
with that many contacts (`bench.sandbox_process`), with the product's real clients on httpx
clients that count every request (`bench.calls`); by default each case runs twice, timed and
then traced for memory (`--memory`):

- efficient (a) *fewest calls* at every `--sizes`: imports as large as the documented
  maximum (50 MB bodies);
- efficient (b) *bounded memory* at every `--sizes`: the same, with at most `--import-cap`
  contacts per import;
- naive: one Dataverse GET and one Dotdigital call per contact (`--naive-sizes` only).

Reported per case: calls by API and route against the protocol minimum (1 token, one
Dataverse page per 5000 contacts, Dotdigital account-info + create book + as many imports as
50 MB bodies require; import status polls apart, as they depend on how long imports take),
wall time (of which waiting between polls), peak traced memory (tracemalloc, this process
only) and, from the sandboxes, that every contact arrived in the book with its data fields.
Figures are meant as ratios between cases of one run, never as absolute targets.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.calls import DATAVERSE, DOTDIGITAL, ENTRA_ID, IMPORT_ROUTE, CallLog
from bench.push import (
    DATA_FIELDS,
    EMAIL_COLUMN,
    PushStats,
    WaitLog,
    efficient_push,
    naive_push,
    real_clients,
)
from bench.sandbox_process import IMPORT_ENVELOPE_BYTES, Endpoints, Outcome, SandboxProcess
from shared.clients import ImportLimits, RetryPolicy
from shared.clients.dataverse.odata import MAX_PAGE_SIZE
from shared.clients.dotdigital.imports import MAX_IMPORT_BODY_BYTES

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "contacts_push.md"
DEFAULT_SIZES = (10_000, 100_000, 200_000)
DEFAULT_NAIVE_SIZES = (10_000,)
DEFAULT_IMPORT_CAP = 10_000
DEFAULT_POLL_INTERVAL = 0.1

# How peak memory is measured (see `measure_case`).
MEMORY_SEPARATE = "separate"  # a timed pass, then a traced pass (default)
MEMORY_SAME = "same"  # one traced pass: quicker, times inflated by tracemalloc
MEMORY_OFF = "off"  # no tracing (calls and time only)
MEMORY_MODES = (MEMORY_SEPARATE, MEMORY_SAME, MEMORY_OFF)

FEWEST = "fewest"
BOUNDED = "bounded"
NAIVE = "naive"
KIND_ORDER = (FEWEST, BOUNDED, NAIVE)

# Routes (as `bench.calls` names them) -------------------------------------------------------
OIDC_METADATA = "GET /{tenant}/v2.0/.well-known/openid-configuration"
TOKEN = "POST /{tenant}/oauth2/v2.0/token"
CONTACT_PAGES = "GET /api/data/v9.2/contacts"
CONTACT_BY_ID = "GET /api/data/v9.2/contacts({id})"
ACCOUNT_INFO = "GET /v2/account-info"
CREATE_BOOK = "POST /v2/address-books"
IMPORT_STATUS = "GET /contacts/v3/import/{id}"
ADD_TO_BOOK = "POST /v2/address-books/{id}/contacts"


@dataclass(frozen=True)
class Case:
    kind: str  # FEWEST | BOUNDED | NAIVE
    records: int
    import_cap: int | None = None  # contacts per import (BOUNDED)

    @property
    def label(self) -> str:
        if self.kind == FEWEST:
            return "(a) fewest calls"
        if self.kind == BOUNDED:
            return f"(b) {self.import_cap:,}/import"
        return "naive"

    @property
    def limits(self) -> ImportLimits:
        return ImportLimits(max_contacts=self.import_cap if self.kind == BOUNDED else None)


@dataclass(frozen=True)
class Minimum:
    """The fewest calls the documented protocol allows for moving `records` contacts."""

    records: int
    dataverse_pages: int  # ceil(records / 5000), at least 1
    import_submits: int  # ceil(one body holding everything / 50 MB)
    token: int = 1
    account_info: int = 1
    create_book: int = 1

    @classmethod
    def of(cls, records: int, single_import_body_bytes: int) -> Minimum:
        return cls(
            records=records,
            dataverse_pages=max(1, math.ceil(records / MAX_PAGE_SIZE)),
            import_submits=math.ceil(single_import_body_bytes / MAX_IMPORT_BODY_BYTES),
        )

    @property
    def total(self) -> int:
        return (
            self.token
            + self.dataverse_pages
            + self.account_info
            + self.create_book
            + self.import_submits
        )


@dataclass(frozen=True)
class CaseResult:
    case: Case
    calls: dict[tuple[str, str], int]  # (API, route) -> requests sent
    refused: dict[tuple[str, str, int], int]  # (API, route, status) -> answers >= 400
    import_body_bytes: tuple[int, ...]
    minimum: Minimum
    wall_seconds: float
    waiting_seconds: float  # sleeps of the retry policy: poll intervals (and backoffs)
    cpu_seconds: float  # this process's CPU time over the same span
    peak_bytes: int | None  # tracemalloc peak, this process, from client setup to the end
    stats: PushStats
    outcome: Outcome
    endpoints: Endpoints = field(repr=False)
    memory_pass_calls_match: bool | None = None  # None: memory traced in this same pass

    def count(self, api: str, route: str | None = None) -> int:
        return sum(n for (a, r), n in self.calls.items() if a == api and route in (None, r))

    @property
    def records(self) -> int:
        return self.case.records

    @property
    def sent_single_body_bytes(self) -> int | None:
        """The one body the imports sent would make together (None without imports)."""
        if not self.import_body_bytes:
            return None
        extra = len(self.import_body_bytes) - 1
        return sum(self.import_body_bytes) - extra * (IMPORT_ENVELOPE_BYTES - 1)

    @property
    def polls(self) -> int:
        return self.count(DOTDIGITAL, IMPORT_STATUS)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def total_without_polls(self) -> int:
        return self.total - self.polls

    @property
    def ratio_to_minimum(self) -> float:
        return self.total_without_polls / self.minimum.total

    @property
    def server_counts_match(self) -> bool:
        """The sandboxes counted as many requests per API as the event hooks did."""
        server = self.outcome.server_calls
        dataverse = sum(n for k, n in server.items() if k.startswith("dataverse "))
        dotdigital = sum(n for k, n in server.items() if k.startswith("dotdigital "))
        return (dataverse, dotdigital) == (
            self.count(ENTRA_ID) + self.count(DATAVERSE),
            self.count(DOTDIGITAL),
        )

    @property
    def all_delivered(self) -> bool:
        return (
            self.outcome.delivered == self.outcome.contacts_with_email == self.stats.sent
            and self.outcome.book_members == self.stats.sent
        )

    def expected_calls(self) -> dict[tuple[str, str], int]:
        """What this case must send: the protocol minimum (plus msal's one metadata request)
        for the efficient cases, one read and one write per record for the naive one."""
        expected = {
            (ENTRA_ID, OIDC_METADATA): 1,
            (ENTRA_ID, TOKEN): self.minimum.token,
            (DOTDIGITAL, ACCOUNT_INFO): self.minimum.account_info,
            (DOTDIGITAL, CREATE_BOOK): self.minimum.create_book,
            (DATAVERSE, CONTACT_PAGES): self.minimum.dataverse_pages,
        }
        if self.case.kind == NAIVE:
            expected[DATAVERSE, CONTACT_BY_ID] = self.records
            expected[DOTDIGITAL, ADD_TO_BOOK] = self.outcome.contacts_with_email
        else:
            submits = self.minimum.import_submits
            if self.case.kind == BOUNDED and self.case.import_cap is not None:
                by_count = math.ceil(self.outcome.contacts_with_email / self.case.import_cap)
                submits = max(submits, by_count)
            expected[DOTDIGITAL, IMPORT_ROUTE] = submits
            expected[DOTDIGITAL, IMPORT_STATUS] = self.polls  # reported apart
        return expected


def run_case(
    case: Case, *, poll_interval_seconds: float = DEFAULT_POLL_INTERVAL, trace_memory: bool = True
) -> CaseResult:
    """One push against a fresh sandbox process seeded with `case.records` contacts."""
    with SandboxProcess(case.records) as sandbox:
        endpoints = sandbox.endpoints
        log = CallLog(
            endpoints.dataverse_url, (endpoints.dotdigital_url, endpoints.dotdigital_api_endpoint)
        )
        waits = WaitLog()
        retry = RetryPolicy(sleep=waits.sleep)
        book_name = f"Benchmark {case.kind} {case.records}"
        gc.collect()
        if trace_memory:
            tracemalloc.start()
        try:
            started, cpu_started = time.perf_counter(), time.process_time()
            with real_clients(endpoints, log, retry) as (dataverse, dotdigital):
                book = dotdigital.create_address_book(book_name)
                if case.kind == NAIVE:
                    stats = naive_push(dataverse, dotdigital, book.id)
                else:
                    stats = efficient_push(
                        dataverse,
                        dotdigital,
                        book.id,
                        limits=case.limits,
                        poll_interval_seconds=poll_interval_seconds,
                    )
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
        finally:
            if trace_memory:
                tracemalloc.stop()
        outcome = sandbox.finish({"book": book_name, "email": EMAIL_COLUMN, "fields": DATA_FIELDS})
    return CaseResult(
        case=case,
        calls=dict(log.calls),
        refused=dict(log.refused),
        import_body_bytes=tuple(log.import_body_bytes),
        minimum=Minimum.of(case.records, outcome.single_import_body_bytes),
        wall_seconds=wall,
        waiting_seconds=waits.seconds,
        cpu_seconds=cpu,
        peak_bytes=peak,
        stats=stats,
        outcome=outcome,
        endpoints=endpoints,
    )


def measure_case(
    case: Case,
    *,
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL,
    memory: str = MEMORY_SEPARATE,
) -> CaseResult:
    """Calls, time and memory of one case. tracemalloc slows the client down (about twice for
    the naive one), so by default the case runs twice: timed without tracing, then traced for
    the peak. Both passes must send the same requests."""
    if memory not in MEMORY_MODES:
        raise ValueError(f"memory is one of {MEMORY_MODES}, not {memory!r}")
    if memory != MEMORY_SEPARATE:
        return run_case(
            case, poll_interval_seconds=poll_interval_seconds, trace_memory=memory == MEMORY_SAME
        )
    timed = run_case(case, poll_interval_seconds=poll_interval_seconds, trace_memory=False)
    traced = run_case(case, poll_interval_seconds=poll_interval_seconds, trace_memory=True)
    return replace(
        timed, peak_bytes=traced.peak_bytes, memory_pass_calls_match=timed.calls == traced.calls
    )


def plan(
    sizes: Sequence[int], naive_sizes: Sequence[int], import_cap: int = DEFAULT_IMPORT_CAP
) -> list[Case]:
    cases = []
    for size in sorted(set(sizes)):
        cases.append(Case(FEWEST, size))
        cases.append(Case(BOUNDED, size, import_cap))
    cases.extend(Case(NAIVE, size) for size in sorted(set(naive_sizes)))
    return cases


@dataclass(frozen=True)
class Report:
    results: tuple[CaseResult, ...]
    started: datetime
    seconds: float
    poll_interval_seconds: float
    import_cap: int
    memory: str  # MEMORY_SEPARATE | MEMORY_SAME | MEMORY_OFF
    command: str
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)  # os.getloadavg()
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def result(self, kind: str, records: int) -> CaseResult | None:
        return next((r for r in self.results if r.case.kind == kind and r.records == records), None)

    def kinds(self) -> list[str]:
        present = {r.case.kind for r in self.results}
        return [kind for kind in KIND_ORDER if kind in present]

    def sizes(self, kind: str) -> list[int]:
        return sorted(r.records for r in self.results if r.case.kind == kind)


def run_benchmark(
    sizes: Sequence[int] = DEFAULT_SIZES,
    naive_sizes: Sequence[int] = DEFAULT_NAIVE_SIZES,
    *,
    import_cap: int = DEFAULT_IMPORT_CAP,
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL,
    memory: str = MEMORY_SEPARATE,
    progress: Callable[[str], None] | None = None,
    command: str = "",
) -> Report:
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    started = time.perf_counter()
    results = []
    for case in plan(sizes, naive_sizes, import_cap):
        if progress is not None:
            progress(f"{case.label}: {case.records:,} contacts ...")
        result = measure_case(
            case,
            poll_interval_seconds=poll_interval_seconds,
            memory=memory,
        )
        if progress is not None:
            progress(
                f"  {result.total:,} calls, {result.wall_seconds:.1f} s, "
                f"peak {_mb(result.peak_bytes)} MB"
            )
        results.append(result)
    return Report(
        results=tuple(results),
        started=started_at,
        seconds=time.perf_counter() - started,
        poll_interval_seconds=poll_interval_seconds,
        import_cap=import_cap,
        memory=memory,
        command=command,
        load_before=load_before,
        load_after=os.getloadavg(),
    )


# Rendering ------------------------------------------------------------------------------------


def _mb(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1e6:.1f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def calls_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = [
        "case",
        "contacts",
        "Entra ID (metadata+token)",
        "Dataverse pages",
        "Dataverse record GETs",
        "Dotdigital setup",
        "import submits",
        "per-record adds",
        "total (no polls)",
        "protocol minimum",
        "actual / minimum",
        "status polls",
        "refused answers",
    ]
    rows = []
    for r in report.results:
        rows.append(
            [
                r.case.label,
                f"{r.records:,}",
                f"{r.count(ENTRA_ID, OIDC_METADATA)}+{r.count(ENTRA_ID, TOKEN)}",
                f"{r.count(DATAVERSE, CONTACT_PAGES):,}",
                f"{r.count(DATAVERSE, CONTACT_BY_ID):,}",
                f"{r.count(DOTDIGITAL, ACCOUNT_INFO) + r.count(DOTDIGITAL, CREATE_BOOK)}",
                f"{r.count(DOTDIGITAL, IMPORT_ROUTE):,}",
                f"{r.count(DOTDIGITAL, ADD_TO_BOOK):,}",
                f"{r.total_without_polls:,}",
                f"{r.minimum.total:,}",
                _ratio(r.ratio_to_minimum),
                f"{r.polls:,}",
                f"{sum(r.refused.values()):,}",
            ]
        )
    return header, rows


def time_memory_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = [
        "case",
        "contacts",
        "wall time (s)",
        "of which poll waits (s)",
        "client CPU (s)",
        "sandbox CPU (s)",
        "contacts / s",
        "peak memory (MB)",
        "peak vs smallest size",
        "peak vs size before",
        "largest import body (MB)",
        "all delivered",
    ]
    rows = []
    for r in report.results:
        sizes = report.sizes(r.case.kind)
        index = sizes.index(r.records)
        vs_smallest = growth(report, r.case.kind, sizes[0], r.records)
        vs_before = growth(report, r.case.kind, sizes[index - 1], r.records) if index else None
        rows.append(
            [
                r.case.label,
                f"{r.records:,}",
                f"{r.wall_seconds:.1f}",
                f"{r.waiting_seconds:.1f}",
                f"{r.cpu_seconds:.1f}",
                f"{r.outcome.cpu_seconds:.1f}",
                f"{r.records / r.wall_seconds:,.0f}",
                _mb(r.peak_bytes),
                _ratio(vs_smallest) if index else "-",
                _ratio(vs_before) if index else "-",
                _mb(max(r.import_body_bytes)) if r.import_body_bytes else "-",
                "yes" if r.all_delivered else f"NO ({r.outcome.delivered:,})",
            ]
        )
    return header, rows


def _nearest(report: Report, kind: str, records: int) -> CaseResult | None:
    sizes = report.sizes(kind)
    if not sizes:
        return None
    return report.result(kind, min(sizes, key=lambda size: (abs(size - records), size)))


def comparison_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """Efficient over naive, per record (the efficient case at the same size, else the
    nearest one ran)."""
    header = [
        "naive at",
        "efficient case",
        "calls / record (eff. vs naive)",
        "calls ratio",
        "ms / record (eff. vs naive)",
        "time ratio",
        "peak MB (eff. vs naive)",
        "memory ratio",
    ]
    rows = []
    for size in report.sizes(NAIVE):
        naive = report.result(NAIVE, size)
        assert naive is not None
        naive_calls, naive_ms = naive.total / size, 1000 * naive.wall_seconds / size
        for kind in (FEWEST, BOUNDED):
            efficient = _nearest(report, kind, size)
            if efficient is None:
                continue
            calls = efficient.total / efficient.records
            ms = 1000 * efficient.wall_seconds / efficient.records
            memory = (
                efficient.peak_bytes / naive.peak_bytes
                if efficient.peak_bytes is not None and naive.peak_bytes
                else None
            )
            rows.append(
                [
                    f"{size:,}",
                    f"{efficient.case.label} at {efficient.records:,}",
                    f"{calls:.4f} vs {naive_calls:.2f}",
                    f"{calls / naive_calls:.5f}x",
                    f"{ms:.3f} vs {naive_ms:.3f}",
                    _ratio(ms / naive_ms),
                    f"{_mb(efficient.peak_bytes)} vs {_mb(naive.peak_bytes)}",
                    _ratio(memory),
                ]
            )
    return header, rows


def route_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = ["case", "contacts", "API", "route", "requests"]
    rows = []
    for r in report.results:
        for (api, route), count in sorted(r.calls.items()):
            rows.append([r.case.label, f"{r.records:,}", api, route, f"{count:,}"])
    return header, rows


def growth(report: Report, kind: str, small: int, large: int) -> float | None:
    """Peak memory at `large` contacts over the peak at `small` (1.00 is flat)."""
    low, high = report.result(kind, small), report.result(kind, large)
    if low is None or high is None or not low.peak_bytes or high.peak_bytes is None:
        return None
    return high.peak_bytes / low.peak_bytes


def flatness(report: Report, kind: str) -> float | None:
    """Peak memory at the largest size over the smallest."""
    sizes = report.sizes(kind)
    return growth(report, kind, sizes[0], sizes[-1]) if len(sizes) > 1 else None


def plateau(report: Report, kind: str) -> float | None:
    """Peak memory at the largest size over the one before (three sizes at least)."""
    sizes = report.sizes(kind)
    return growth(report, kind, sizes[-2], sizes[-1]) if len(sizes) > 2 else None


def _peaks(report: Report, kind: str) -> str:
    parts = []
    for size in report.sizes(kind):
        result = report.result(kind, size)
        if result is not None:
            parts.append(f"{_mb(result.peak_bytes)} MB at {size:,}")
    return ", ".join(parts)


def recommendation(report: Report) -> str:
    fewest, bounded = flatness(report, FEWEST), flatness(report, BOUNDED)
    sizes = report.sizes(BOUNDED)
    if fewest is None or bounded is None or not sizes:
        return "Run at two sizes at least to compare how memory grows."
    large = sizes[-1]
    a, b = report.result(FEWEST, large), report.result(BOUNDED, large)
    assert a is not None and b is not None
    in_flight = ImportLimits().max_active
    overlap = in_flight * report.import_cap
    level = plateau(report, BOUNDED)
    if fewest > 2 * bounded:
        return (
            f"Use (b), imports capped at {report.import_cap:,} contacts. (a)'s peak grows with "
            f"the push ({_peaks(report, FEWEST)}): it builds one import body of up to 50 MB "
            "(every contact's JSON, then the joined body) and reads back one status answer "
            "listing every contact created or updated, so it grows until the 50 MB body limit, "
            f"whatever the page size. (b)'s is bounded ({_peaks(report, BOUNDED)}"
            + (f"; {_ratio(level)} over the last step" if level is not None else "")
            + f"): it rises while a push still fits in the imports that may be in flight "
            f"({in_flight} x {report.import_cap:,} = {overlap:,} contacts), as more of its "
            "parts then overlap in memory (the next body being built, the current Dataverse "
            "page, the import result being read and the previous one), and stays level "
            f"beyond. The cap costs {b.total_without_polls - a.total_without_polls} more "
            f"import submits and {b.polls - a.polls} more status polls at {large:,} contacts "
            f"({b.total:,} calls in all against {a.total:,}), still a few dozen calls where a "
            "per-record client needs two per contact; a Functions instance with a fixed "
            "memory size cannot afford a footprint that grows with the account."
        )
    return (
        f"Use (a): its memory ({_peaks(report, FEWEST)}) grows {_ratio(fewest)}, (b)'s "
        f"{_ratio(bounded)}, so the cap buys nothing for these sizes and costs calls."
    )


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_notes(report: Report) -> list[str]:
    command = report.command or "python -m bench.contacts_push"
    return [
        f"Run on {report.started:%Y-%m-%d %H:%M} UTC, {report.seconds:.0f} s in all "
        f"(sandbox starts and seeding included): `{command}`.",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; client and sandboxes share those cores (the "
        "sandboxes in their own process: uvicorn, h11, Dataverse over TLS). Load average "
        f"{report.load_before[0]:.1f} before the run and {report.load_after[0]:.1f} after: "
        "other work on the machine stretches wall times, CPU times much less.",
        (
            "Each case ran twice, each time against a fresh sandbox process: timed without "
            "tracemalloc, then traced for the peak (tracemalloc about doubles the naive "
            "client's time); both passes sent the same requests"
            + (
                ""
                if all(r.memory_pass_calls_match for r in report.results)
                else " EXCEPT IN SOME CASES (see the route table)"
            )
            + "."
            if report.memory == MEMORY_SEPARATE
            else "Each case ran once, timed while tracemalloc traced it (times are inflated)."
            if report.memory == MEMORY_SAME
            else "Memory was not traced."
        ),
        f"Import status polled every {report.poll_interval_seconds:g} s (the product default "
        "is 10 s); the sandbox answers NotFinished to the first poll of each import and "
        "applies the import on the next, so every import costs two polls here.",
    ]


def _duration(seconds: float) -> str:
    return f"~{seconds:.0f} s" if seconds < 120 else f"~{seconds / 60:.0f} min"


def naive_notes(report: Report) -> list[str]:
    """Where the naive client's time goes, and what the sizes it did not run would take."""
    notes = []
    for size in report.sizes(NAIVE):
        naive = report.result(NAIVE, size)
        assert naive is not None
        client_ms = 1000 * naive.cpu_seconds / naive.total
        sandbox_ms = 1000 * naive.outcome.cpu_seconds / naive.total
        wall_ms = 1000 * naive.wall_seconds / naive.total
        notes.append(
            f"- Naive at {size:,}: {wall_ms:.1f} ms per call, of which {client_ms:.1f} ms "
            f"client CPU and {sandbox_ms:.1f} ms sandbox CPU: the Python HTTP stacks at both "
            "ends (httpx; uvicorn and Starlette) set its pace here, not the network. A real "
            "service adds its network and service latency to every one of those calls."
        )
    naive_sizes = report.sizes(NAIVE)
    skipped = [s for s in report.sizes(FEWEST) if s > max(naive_sizes, default=0)]
    if naive_sizes and skipped:
        naive = report.result(NAIVE, naive_sizes[-1])
        assert naive is not None
        per_contact = naive.wall_seconds / naive.records
        estimates = ", ".join(f"{size:,}: {_duration(per_contact * size)}" for size in skipped)
        notes.append(
            f"- The naive client did not run at larger sizes: at the {1000 * per_contact:.1f} "
            f"ms per contact measured, the timed pass alone would take {estimates} (and the "
            "traced pass about twice that). `--naive-sizes` runs it anyway."
        )
    return notes


def render_markdown(report: Report) -> str:
    fewest, bounded = flatness(report, FEWEST), flatness(report, BOUNDED)
    parts = [
        "# Benchmark: Dataverse contacts into a Dotdigital address book",
        "",
        "Generated by `python -m bench.contacts_push` (`make bench`); every figure below comes "
        "from one run. Each case runs against a fresh sandbox process seeded with that many "
        "contacts; the measured process holds only the product's clients (`DataverseClient` "
        "with `MsalTokenProvider`, `DotdigitalClient.connect`), whose httpx event hooks count "
        "every request, retries included. Afterwards the sandboxes confirm every contact "
        "arrived in the new address book with its mapped data fields.",
        "",
        *(f"- {note}" for note in machine_notes(report)),
        "",
        "Cases: (a) efficient, fewest calls: `DataverseClient.iter_pages` (pages of 5000) "
        "streamed into `DotdigitalClient.run_contact_imports` with the default `ImportLimits` "
        "(bodies up to the documented 50 MB, 5 imports in flight); (b) the same with "
        f"`ImportLimits(max_contacts={report.import_cap:,})`; naive: one call per record "
        "(see Notes).",
        "",
        "## Calls against the protocol minimum",
        "",
        "Protocol minimum: 1 Entra ID token + ceil(contacts / 5000) Dataverse pages; "
        "Dotdigital account-info + create address book + ceil(one body with every contact / "
        "50 MB) import submits. Import status polls are reported apart (they depend on how "
        "long the service takes) and left out of the ratio. msal adds one OpenID metadata "
        "request before its first token (against real Entra ID, an instance-discovery "
        "request as well): once per process, counted in the totals and the ratio.",
        "",
        _markdown_table(*calls_rows(report)),
        "",
        "## Wall time and memory",
        "",
        "Wall time: from building the clients to the last import's final status. Peak "
        "memory: tracemalloc peak of the measured process over the same span (Python "
        "allocations; the sandboxes run elsewhere). Memory is flat when the peak does not "
        "grow with the number of contacts (ratio near 1.00x).",
        "",
        _markdown_table(*time_memory_rows(report)),
        "",
    ]
    if fewest is not None or bounded is not None:
        parts += [
            f"Memory growth, largest over smallest size: (a) {_ratio(fewest)}, "
            f"(b) {_ratio(bounded)}"
            + (
                f"; largest over the size before: (a) {_ratio(plateau(report, FEWEST))}, "
                f"(b) {_ratio(plateau(report, BOUNDED))}."
                if plateau(report, BOUNDED) is not None
                else "."
            ),
            "",
        ]
    comparison = comparison_rows(report)
    if comparison[1]:
        parts += [
            "## Efficient against naive, per record",
            "",
            "Ratios are efficient / naive, per record, all calls included (below 1 is "
            "better); memory compares the peaks as measured.",
            "",
            _markdown_table(*comparison),
            "",
        ]
    parts += [
        "## Which configuration the product should use",
        "",
        recommendation(report),
        "",
        "## Notes",
        "",
        "- `run_contact_imports` is consumed as it yields and only counts are kept. "
        "`import_contacts` keeps every `ImportResult` (with a reference per contact created "
        "or updated) in its report, so its memory grows with the push even with capped "
        "imports.",
        "- The naive client lists the ids first (pages of 5000), then makes one `GET "
        "contacts(<id>)` and one `POST /v2/address-books/{id}/contacts` per contact, through "
        "the same clients, transport and retry policy. Against a real account its calls "
        "would also count against Dotdigital's API call allowance (the sandbox reports "
        "`ApiCallsRemaining` out of 2,000 an hour and does not enforce it here).",
        *naive_notes(report),
        "- Every request is counted on the client and by the sandboxes' own counters; the "
        "two agree for every case"
        + ("" if all(r.server_counts_match for r in report.results) else " EXCEPT SOME")
        + ".",
        "",
        "## Requests by route",
        "",
        _markdown_table(*route_rows(report)),
        "",
    ]
    return "\n".join(parts)


def print_report(report: Report, console: Console) -> None:
    for title, (header, rows) in (
        ("Calls against the protocol minimum", calls_rows(report)),
        ("Wall time and memory", time_memory_rows(report)),
        ("Efficient / naive, per record", comparison_rows(report)),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for index, name in enumerate(header):
            table.add_column(name, justify="left" if index == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    console.print(f"[bold]Recommendation[/bold]: {recommendation(report)}")
    for note in machine_notes(report):
        console.print(f"- {note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.contacts_push",
        description="Dataverse contacts pushed into a Dotdigital address book: calls, time "
        "and memory of the product's clients and of a naive one-call-per-record client.",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--naive-sizes", type=int, nargs="*", default=list(DEFAULT_NAIVE_SIZES))
    parser.add_argument(
        "--import-cap",
        type=int,
        default=DEFAULT_IMPORT_CAP,
        help="contacts per import in the bounded-memory configuration (b)",
    )
    parser.add_argument(
        "--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL, help="seconds"
    )
    parser.add_argument(
        "--memory",
        choices=MEMORY_MODES,
        default=MEMORY_SEPARATE,
        help="separate: a timed and a traced run per case; same: one traced run (times "
        "inflated by tracemalloc); off: no memory figures",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_FILE,
        help="markdown results file ('-' to write none)",
    )
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 180)
    command = "python -m bench.contacts_push " + " ".join(
        sys.argv[1:] if argv is None else list(argv)
    )
    report = run_benchmark(
        args.sizes,
        args.naive_sizes,
        import_cap=args.import_cap,
        poll_interval_seconds=args.poll_interval,
        memory=args.memory,
        progress=console.print,
        command=command.strip(),
    )
    print_report(report, console)
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(render_markdown(report), encoding="utf-8")
        console.print(f"Results written to {args.output}")
    failed = [r for r in report.results if not (r.all_delivered and r.server_counts_match)]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
