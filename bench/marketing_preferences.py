"""Benchmark: MarketingPreferences for 10,000 records x 10 preferences: a first run, a run
after 1% of the records changed a preference (half in Dynamics, half on the platform), and a
run with nothing to do.

    python -m bench.marketing_preferences [--records 10000] [--preferences 10] [--memory separate]

Against a fresh sandbox process (`bench.sandbox_process --preferences`: the Dataverse contacts,
each email a Dotdigital contact with opt-ins and opt-outs; 1% suppressed) and fresh Azurite
tables; every contact is in the account's list membership history (as pushed lists leave it).
Each run goes through the worker (`Worker.handle`). Reported per run: the requests of the
measured process by API and route against the protocol minimum, wall time, this process's CPU
time, and its peak memory (tracemalloc; `--memory separate` runs everything twice, timed then
traced). Correctness: afterwards every non-suppressed (record, preference) has a row, and the
rows opted in are exactly the platform's opt-ins.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from bench.calls import DATAVERSE, DOTDIGITAL, CallLog
from bench.marketing_lists_push import setup_client
from bench.product_runtime import (
    PASSWORD_SETTING,
    bench_settings,
    counting_runtime,
    run_to_completion,
)
from bench.sandbox_process import Endpoints, SandboxProcess
from shared.accounts import EmailAccount
from shared.azurite import AzuriteProcess, start_azurite
from shared.clients import BatchRequest, DataverseClient, RetryPolicy
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.preferences import PreferenceChoice
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.history_repo import membership_history
from shared.sync.preferences import dynamics as dv_rows
from shared.sync.preferences.platform import EPOCH, RECEIVING
from shared.sync.preferences.sync import MarketingPreferences
from shared.sync_types import SyncType

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "marketing_preferences.md"
PREFS = SyncType.MARKETING_PREFERENCES
ACCOUNT_ID = "bench"
MEMORY_MODES = ("separate", "same", "off")
HTTP_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class RunResult:
    name: str
    calls: dict[str, int]  # "<API> <METHOD> <route>" -> requests
    minimum: dict[str, int]
    wall_seconds: float
    cpu_seconds: float
    peak_bytes: int | None
    status: str
    message: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def api(self, name: str) -> int:
        return sum(n for key, n in self.calls.items() if key.startswith(name + " "))


@dataclass(frozen=True)
class BenchResult:
    records: int
    preferences: int
    runs: tuple[RunResult, ...]
    rows: int
    expected_rows: int
    opted_in_rows: int
    platform_opt_ins: int
    setup_seconds: float

    @property
    def correct(self) -> bool:
        return self.rows == self.expected_rows and self.opted_in_rows == self.platform_opt_ins


def _platform(endpoints: Endpoints) -> DotdigitalClient:
    """A client of the setup and the checks (not counted)."""
    return DotdigitalClient.connect(
        endpoints.dotdigital_url, endpoints.api_user, SecretStr(endpoints.api_password),
        http=httpx.Client(timeout=HTTP_TIMEOUT_SECONDS), retry=RetryPolicy(),
    )  # fmt: skip


def measured_runtime(azurite: AzuriteProcess, endpoints: Endpoints, log: CallLog) -> Runtime:
    """The product's runtime on Azurite and the sandboxes, its httpx clients counting; the
    largest time budget, so a run at these sizes is one slice."""
    settings = bench_settings(
        azurite,
        endpoints,
        RUN_TIME_BUDGET_SECONDS="440",  # the most host.json's 600 s allows
        RUN_LEASE_SECONDS="620",
    )
    rt = counting_runtime(settings, endpoints, log, timeout=HTTP_TIMEOUT_SECONDS)
    rt.registry = catalogue().replaced(MarketingPreferences())
    return rt


def _run(rt: Runtime) -> None:
    run_to_completion(rt, ACCOUNT_ID, PREFS)


def _measure(
    name: str, rt: Runtime, log: CallLog, minimum: dict[str, int], *, trace: bool
) -> RunResult:
    log.calls.clear()
    gc.collect()
    if trace:
        tracemalloc.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        _run(rt)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if trace else None
    finally:
        if trace:
            tracemalloc.stop()
    [audit] = rt.audit.recent(ACCOUNT_ID, sync_type=PREFS, limit=1)
    return RunResult(name, log.by_route(), minimum, wall, cpu, peak, audit.status.value,
                     audit.message, audit.counts.model_dump())  # fmt: skip


def _opt_ins(platform: DotdigitalClient, preference_ids: Sequence[int]) -> set[tuple[str, int]]:
    """(email, preference) the platform has opted in, suppressed contacts left out."""
    found = set()
    for preference in preference_ids:
        for item in platform.iter_opt_ins_since(preference, EPOCH):
            if item.contact.status in RECEIVING:
                for opt_in in item.opt_ins:
                    if opt_in.opted_in:
                        found.add((item.contact.email.lower(), opt_in.preference_id))
    return found


def _opt_in_pages(platform: DotdigitalClient, preference_ids: Sequence[int]) -> int:
    """Calls a full read of every opt-in record needs: per preference, its records (opted in
    or out, any contact) in pages of 1000, and a short page to end on."""
    pages = 0
    for preference in preference_ids:
        records = sum(1 for _ in platform.iter_opt_ins_since(preference, EPOCH))
        pages += records // 1000 + 1
    return pages


def _rows(dataverse: DataverseClient) -> list[dict[str, object]]:
    return list(
        dataverse.iter_records(
            dv_rows.SUBSCRIPTION_SET,
            ["dms_marketingpreferencesubscriptionid", "dms_email", "dms_optedin"],
            filter=f"dms_emailaccountid eq '{ACCOUNT_ID}'",
        )
    )


def _change(
    dataverse: DataverseClient, platform: DotdigitalClient, share: float, prefs: Sequence[int]
) -> int:
    """`share` of the records change one preference: half by a CRM user, half on the
    platform (distinct emails)."""
    rows = _rows(dataverse)
    draw = random.Random("bench-preferences-changes")
    by_email: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_email.setdefault(str(row["dms_email"]).lower(), []).append(row)
    emails = sorted(by_email)
    changed = max(2, int(len(emails) * share))
    picked = draw.sample(emails, changed)
    edits = [
        BatchRequest.update(
            dv_rows.SUBSCRIPTION_SET,
            str(row["dms_marketingpreferencesubscriptionid"]),
            {"dms_optedin": not row["dms_optedin"]},
        )
        for row in (draw.choice(by_email[e]) for e in picked[: changed // 2])
    ]
    dataverse.execute_batch(edits)
    for email in picked[changed // 2 :]:
        found = platform.contact_subscriptions(email)
        assert found is not None
        current = {o.preference_id: o.opted_in for o in found.opt_ins}
        preference = draw.choice(list(prefs))
        choice = PreferenceChoice(preference_id=preference,
                                  opted_in=not current.get(preference, False))  # fmt: skip
        platform.set_contact_preferences(found.contact.id, [choice])
    return changed


def _minimum(records: int, prefs: int, opt_in_pages: int, suppressed_pages: int, *,
             first: bool, edited: int = 0, changed_rows: int = 0) -> dict[str, int]:  # fmt: skip
    """Fewest requests the protocol allows (token and discovery apart): the preferences; each
    preference's opt-ins (all of them on a first run, the changes later); who is suppressed
    (records of suppressed contacts have no rows, so each run must learn they still are);
    the records' emails; the rows; and per contact edited in Dynamics its opt-in dates and
    the write."""
    rows = records * prefs  # records: those not suppressed (suppressed ones get no rows)
    dataverse = 1 + math.ceil(math.ceil(records / 50) / 1000)  # preferences, emails ($batch)
    dataverse += max(1, math.ceil(rows / 5000)) if not first else 1  # subscription pages
    writes = (1 + math.ceil(rows / 1000)) if first else math.ceil(changed_rows / 1000)
    dotdigital = 1 + suppressed_pages + (opt_in_pages if first else prefs)
    dotdigital += 2 * edited  # a subscriptions read and a PUT per contact edited in Dynamics
    return {"Dataverse": dataverse + writes, "Dotdigital": dotdigital}


def run_bench(
    records: int, prefs: int, azurite: AzuriteProcess, *, share: float, trace: bool
) -> BenchResult:
    with SandboxProcess(records, preferences=prefs) as sandbox:
        endpoints = sandbox.endpoints
        started = time.perf_counter()
        dataverse = setup_client(endpoints)
        platform = _platform(endpoints)
        log = CallLog(
            endpoints.dataverse_url, (endpoints.dotdigital_url, endpoints.dotdigital_api_endpoint)
        )
        rt = measured_runtime(azurite, endpoints, log)
        admin.provision_account(rt, EmailAccount(
            account_id=ACCOUNT_ID, name="Benchmark", api_user=endpoints.api_user,
            api_password_secret_name=PASSWORD_SETTING,
        ))  # fmt: skip
        ids = [str(r["contactid"]) for r in dataverse.iter_records("contacts", ["contactid"])]
        membership_history(rt).add(ACCOUNT_ID, "contact", ids)
        preference_ids = [p.id for tree in platform.list_preferences() for p in tree.flatten()]
        suppressed = len(list(platform.iter_suppressions_since(EPOCH)))
        setup_seconds = time.perf_counter() - started
        opt_in_pages = _opt_in_pages(platform, preference_ids)
        listed = records - suppressed  # suppressed contacts get no rows
        first_min = _minimum(listed, prefs, opt_in_pages, max(1, math.ceil(suppressed / 1000)),
                             first=True)  # fmt: skip
        first = _measure("first run", rt, log, first_min, trace=trace)
        changed = _change(dataverse, platform, share, preference_ids)
        time.sleep(1)  # dates of the changes after the run's start, whole seconds apart
        edited = changed // 2
        suppressed_pages = max(1, math.ceil(suppressed / 1000)) if suppressed else 0
        increment_min = _minimum(listed, prefs, 0, suppressed_pages, first=False,
                                 edited=edited, changed_rows=changed)  # fmt: skip
        increment = _measure(f"{share:.0%} changed", rt, log, increment_min, trace=trace)
        idle_min = _minimum(listed, prefs, 0, suppressed_pages, first=False)
        idle = _measure("nothing changed", rt, log, idle_min, trace=trace)
        rows = _rows(dataverse)
        opted_now = _opt_ins(platform, preference_ids)
        dataverse.close()
        sandbox.finish()
    return BenchResult(
        records=records,
        preferences=prefs,
        runs=(first, increment, idle),
        rows=len(rows),
        expected_rows=(records - suppressed) * prefs,
        opted_in_rows=sum(1 for r in rows if r["dms_optedin"]),
        platform_opt_ins=len(opted_now),
        setup_seconds=setup_seconds,
    )


def measure(
    records: int, prefs: int, azurite: AzuriteProcess, *, share: float, memory: str
) -> BenchResult:
    if memory != "separate":
        return run_bench(records, prefs, azurite, share=share, trace=memory == "same")
    timed = run_bench(records, prefs, azurite, share=share, trace=False)
    traced = run_bench(records, prefs, azurite, share=share, trace=True)
    runs = tuple(
        replace(t, peak_bytes=m.peak_bytes) for t, m in zip(timed.runs, traced.runs, strict=True)
    )
    return replace(timed, runs=runs)


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1_000_000:.1f}"


def render(result: BenchResult, *, command: str, memory: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark: MarketingPreferences",
        "",
        f"Generated by `{command}` ({when}); memory: {memory}. {result.records:,} records (all "
        f"in the list membership history) x {result.preferences} preferences; setup "
        f"{result.setup_seconds:.1f} s (not measured).",
        "",
        "| run | requests | protocol minimum | Dataverse | Dotdigital | wall (s) | CPU (s) "
        "| peak MB | audit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result.runs:
        minimum = sum(run.minimum.values())
        counts = run.counts
        lines.append(
            f"| {run.name} | {run.total:,} | {minimum:,} | {run.api(DATAVERSE):,} "
            f"| {run.api(DOTDIGITAL):,} | {run.wall_seconds:.1f} | {run.cpu_seconds:.1f} "
            f"| {_mb(run.peak_bytes)} | {run.status}: {run.message} (read {counts['read']}, "
            f"created {counts['created']}, updated {counts['updated']}, "
            f"failed {counts['failed']}) |"
        )
    lines += [
        "",
        f"Correct: {'yes' if result.correct else 'NO'}: {result.rows:,} subscription rows "
        f"(expected {result.expected_rows:,}: every non-suppressed record x preference), "
        f"{result.opted_in_rows:,} opted in, the platform has {result.platform_opt_ins:,} "
        "opt-ins of non-suppressed contacts.",
        "",
        "Requests by route (the minimum excludes the token request and the region discovery):",
        "",
    ]
    for run in result.runs:
        lines.append(f"- {run.name}:")
        lines.extend(f"  - {route}: {count:,}" for route, count in run.calls.items())
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.marketing_preferences")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--preferences", type=int, default=10)
    parser.add_argument("--changed-share", type=float, default=0.01)
    parser.add_argument("--memory", choices=MEMORY_MODES, default="separate")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    command = "python -m bench.marketing_preferences " + " ".join(
        sys.argv[1:] if argv is None else list(argv)
    )
    azurite = start_azurite(in_memory=True)
    try:
        result = measure(args.records, args.preferences, azurite, share=args.changed_share,
                         memory=args.memory)  # fmt: skip
    finally:
        azurite.stop()
    markdown = render(result, command=command.strip(), memory=args.memory)
    sys.stdout.write(markdown)
    args.output.write_text(markdown, encoding="utf-8")
    return 0 if result.correct else 1


if __name__ == "__main__":
    raise SystemExit(main())
