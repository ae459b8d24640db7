"""Benchmark: SuppressionLists on a large suppression list, platform -> Dynamics.

    python -m bench.suppression_lists [--sizes 10000 100000] [--memory separate|same|off]

Per size N, against a fresh sandbox process (this module with `--serve`) and fresh Azurite
tables: Dataverse holds N/2 contacts and N/2 leads (`seed_data`); Dotdigital holds N suppressed
contacts (Unsubscribed, HardBounced, IspComplained, ...), one per Dataverse email and the rest
emails Dynamics does not have. One first SuppressionLists run goes through the worker
(`Worker.handle`, its message taken from the Azurite queue, one slice). Measured in this
process: every request by API and route (`bench.calls`) against the protocol minimum (pages of
1,000 suppressions; one lookup `$batch` per page; writes in `$batch`es of 1,000), wall time,
CPU time, and tracemalloc's peak (a second, traced run on fresh data with `--memory separate`).
The sandbox process then counts the suppression rows (none twice) and the flagged records.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.calls import ENTRA_ID, CallLog
from bench.harness import bench_main, timed_run
from bench.sandbox_process import Endpoints
from bench.serve import ServeProcess

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "suppression_lists.md"
DEFAULT_SIZES = (10_000, 100_000)
REASONS = ("Unsubscribed", "HardBounced", "IspComplained", "SoftBounced", "DirectComplaint")
UNKNOWN_SHARE = 0.1  # suppressions of emails Dynamics does not have
ACCOUNT_ID = "bench"
PAGE = 1000


# The sandbox process ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    server_calls: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    rows: int = 0
    duplicate_rows: int = 0  # rows beyond one per (record, suppression)
    matched_records: int = 0  # contacts and leads whose email is suppressed
    flagged_records: int = 0  # of those: Do not Bulk Email set


def _serve(size: int, stdin: IO[str], stdout: IO[str]) -> None:
    from sandbox.launch import start_sandboxes

    tls_dir = Path(tempfile.mkdtemp(prefix="bench-suppressions-tls-"))
    try:
        running = start_sandboxes(tls_dir=tls_dir)
        started = time.perf_counter()
        dv, dd = running.dataverse, running.dotdigital
        dv.seed_data(contacts=size // 2, leads=size - size // 2)
        emails: dict[str, None] = {}
        for table in ("contact", "lead"):
            for row in dv.table(table).rows.values():
                email = row.values.get("emailaddress1")
                if email:
                    emails[str(email).lower()] = None
        known = list(emails)[: int(size * (1 - UNKNOWN_SHARE))]
        wanted = known + [f"gone{n}@example.net" for n in range(size - len(known))]
        with dd.lock:
            when = dd.now() - size
            for n, email in enumerate(wanted):
                contact = dd.store.add_contact(email, when=when + n)
                dd.store.suppress(contact, REASONS[n % len(REASONS)], when + n)
        endpoints = Endpoints.of(running, contacts=size, seed_seconds=time.perf_counter() - started)
        stdout.write(json.dumps(asdict(endpoints)) + "\n")
        stdout.flush()
        cpu_before = time.process_time()
        stdin.read()  # until the parent closes stdin
        cpu = time.process_time() - cpu_before
        stdout.write(json.dumps(asdict(_verdict(running, set(known), cpu))) + "\n")
        stdout.flush()
    finally:
        shutil.rmtree(tls_dir, ignore_errors=True)
    os._exit(0)  # no graceful shutdown: nothing to flush, and the next size needs the cores


def _verdict(running: Any, suppressed: set[str], cpu: float) -> Verdict:
    calls: dict[str, int] = {}
    for name, state in (("dataverse", running.dataverse), ("dotdigital", running.dotdigital)):
        for (method, template), count in sorted(state.counters.by_route().items()):
            calls[f"{name} {method} {template}"] = count
    dv = running.dataverse
    rows = list(dv.table("dms_emailsuppression").rows.values())
    regarding = [r.values.get("dms_contactid") or r.values.get("dms_leadid") for r in rows]
    matched = flagged = 0
    for table in ("contact", "lead"):
        for row in dv.table(table).rows.values():
            if str(row.values.get("emailaddress1") or "").lower() in suppressed:
                matched += 1
                flagged += 1 if row.values.get("donotbulkemail") else 0
    return Verdict(calls, cpu, len(rows), len(regarding) - len(set(regarding)), matched, flagged)


# The measured process -------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    size: int
    calls: dict[tuple[str, str], int]
    wall_seconds: float
    cpu_seconds: float
    peak_bytes: int | None
    audit_status: str
    audit_message: str
    counts: dict[str, int]
    verdict: Verdict
    seed_seconds: float

    def count(self, api: str, route: str | None = None) -> int:
        return sum(n for (a, r), n in self.calls.items() if a == api and route in (None, r))

    def minimum(self) -> dict[str, int]:
        """Fewest calls the protocol allows for this run (a first run, in a fresh process)."""
        pages = self.size // PAGE + 1  # the last page is short (or empty): the end of the list
        writes = self.counts["created"] + self.counts["updated"]
        return {
            ENTRA_ID: 2,  # msal's metadata request and one token
            "Dotdigital account-info": 1,
            "Dotdigital suppressed-since pages": pages,
            "Dotdigital contacts modified since (resubscriptions)": 1,
            "Dataverse rows read (CRM rows to push, resubscribe requests)": 2,
            "Dataverse lookup $batch": math.ceil(self.size / PAGE),
            "Dataverse write $batch": math.ceil(writes / PAGE),
        }

    @property
    def delivered(self) -> bool:
        v = self.verdict
        return v.duplicate_rows == 0 and v.rows == v.matched_records == v.flagged_records


def measured_runtime(azurite: Any, endpoints: Endpoints, log: CallLog) -> Any:
    """The product's runtime on Azurite and the sandboxes, its httpx clients counting. The
    run's time budget is the default: a large run goes on in follow-up messages, as deployed."""
    from bench.product_runtime import bench_settings, counting_runtime

    return counting_runtime(bench_settings(azurite, endpoints), endpoints, log)


def run_size(size: int, azurite: Any, *, traced: bool) -> Result:
    from bench.product_runtime import PASSWORD_SETTING
    from shared.accounts import EmailAccount
    from shared.pipeline import admin
    from shared.sync.catalogue import catalogue
    from shared.sync.suppressions.sync_type import SuppressionLists
    from shared.sync_types import SyncType

    kind = SyncType.SUPPRESSION_LISTS
    sandbox = ServeProcess("bench.suppression_lists", size)
    endpoints = sandbox.endpoints
    log = CallLog(
        endpoints.dataverse_url, (endpoints.dotdigital_url, endpoints.dotdigital_api_endpoint)
    )
    rt = measured_runtime(azurite, endpoints, log)
    rt.registry = catalogue().replaced(SuppressionLists())
    account = EmailAccount(
        account_id=ACCOUNT_ID, name="Benchmark", api_user=endpoints.api_user,
        api_password_secret_name=PASSWORD_SETTING,
    )  # fmt: skip
    admin.provision_account(rt, account)
    log.calls.clear()
    timed = timed_run(rt, ACCOUNT_ID, kind, traced=traced)
    audit = timed.audit
    verdict = Verdict(**sandbox.finish())
    return Result(
        size=size, calls=dict(log.calls), wall_seconds=timed.wall_seconds,
        cpu_seconds=timed.cpu_seconds, peak_bytes=timed.peak_bytes,
        audit_status=str(audit.status.value), audit_message=audit.message,
        counts=audit.counts.model_dump(), verdict=verdict, seed_seconds=endpoints.seed_seconds,
    )  # fmt: skip


# Report ----------------------------------------------------------------------------------------


def render(results: list[Result], meta: dict[str, Any]) -> str:
    lines = [
        "# SuppressionLists benchmark",
        "",
        f"`{meta['command']}`, {meta['started']:%Y-%m-%d %H:%M} UTC, {meta['seconds']:.0f} s, "
        f"load {meta['load']} (2 cores shared). Sandboxes and Azurite run in other processes: "
        "the figures are this process's (the connector's client side).",
        "",
        "A first run: N suppressions in Dotdigital (90% with a Dynamics contact or lead, 10% "
        "not), N/2 contacts and N/2 leads in Dynamics; both settings on.",
        "",
        "Reading it: the calls are the protocol minimum but for the write `$batch`es, which "
        "are counted per page of 1,000 suppressions (a page's ~1,900 writes take two, so the "
        "run can checkpoint after every page) where the minimum divides all the writes by "
        "1,000. Wall time is mostly the sandboxes' (one Python process serving both APIs, "
        "its Dataverse writing each `$batch` part in turn); the client's own CPU is the "
        "column beside it. Peak memory does not grow with the list: a page at a time.",
        "",
        "| suppressions | calls | protocol minimum | wall | client CPU | CPU per suppression "
        "| peak memory | rows created | records flagged | audit |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        total, minimum = sum(r.calls.values()), sum(r.minimum().values())
        peak = "-" if r.peak_bytes is None else f"{r.peak_bytes / 1e6:.1f} MB"
        lines.append(
            f"| {r.size:,} | {total:,} | {minimum:,} | {r.wall_seconds:.1f} s | "
            f"{r.cpu_seconds:.1f} s | {r.cpu_seconds / r.size * 1000:.3f} ms | {peak} | "
            f"{r.verdict.rows:,} | {r.verdict.flagged_records:,} | {r.audit_status} |"
        )
    for r in results:
        lines += ["", f"## {r.size:,} suppressions: calls by route", "",
                  "| API | route | calls |", "|---|---|---:|"]  # fmt: skip
        for (api, route), count in sorted(r.calls.items()):
            lines.append(f"| {api} | `{route}` | {count:,} |")
        lines += ["", "Protocol minimum: " + ", ".join(
            f"{k} {v:,}" for k, v in r.minimum().items()) + ".", "",
            f"Audit: {r.audit_message} (counts {r.counts}).",
            f"Sandbox check: {r.verdict.rows:,} rows for {r.verdict.matched_records:,} matched "
            f"records, {r.verdict.duplicate_rows} duplicates, {r.verdict.flagged_records:,} "
            "flagged.",
        ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _summary(result: Result) -> str:
    return (
        f"{sum(result.calls.values())} calls (minimum {sum(result.minimum().values())}), "
        f"{result.wall_seconds:.1f} s, CPU {result.cpu_seconds:.1f} s, "
        f"{result.audit_status}: {result.audit_message}"
    )


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        argv, module="bench.suppression_lists", default_sizes=DEFAULT_SIZES,
        results_file=RESULTS_FILE, serve=_serve, run_size=run_size, render=render,
        summary=_summary,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
