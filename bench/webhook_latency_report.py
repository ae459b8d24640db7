"""The results file of `bench.webhook_latency`: latency from a Dynamics edit to the address book,
where it goes, the endpoint's answer time, the Webhook runs, and their API calls against the
protocol minimum."""

from __future__ import annotations

import math
import os
import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bench.calls import DATAVERSE, DOTDIGITAL, IMPORT_ROUTE, CallLog
from shared.audit import AuditRecord
from shared.pipeline.webhook_events import CLOCK_MARGIN
from shared.settings import Settings
from shared.sync.marketing_lists.list_push import IMPORT_POLL_SECONDS

if TYPE_CHECKING:
    from bench.webhook_latency import Edit

TARGET_P95_SECONDS = 60.0
COALESCE_SECONDS = Settings.model_fields["webhook_coalesce_seconds"].default
MEMBER_PAGE = 5000  # Dataverse's largest page (list_push.PAGE_SIZE)
LISTS = "GET /api/data/v9.2/lists"
MEMBER_PAGES = "GET /api/data/v9.2/lists({id})/listcontact_association"
IMPORT_STATUS = "GET /contacts/v3/import/{id}"
MINIMUM_NOTES = (
    "The minimum, per Webhook run as the design has it (the endpoint never calls Dataverse,",
    "so the run finds out which email-activated lists hold the changed members): the",
    "account's email-activated lists (1), the member pages of the contact list (one per",
    f"{MEMBER_PAGE:,} members), and for a run with anything to push one import and one",
    "status poll (the answer that says it is done). The DataIn phase of the two-way run costs",
    "nothing here: no mapping brings a value back in, so no list has an inbound field and it",
    "makes no call. Not counted as needed: the address-book listing (`GET /v2/address-books`,",
    "the run checks the linked book still exists: the stored link has its id), a first status",
    "poll answered NotFinished (the sandbox answers the first poll of each import so: its",
    "default, `import_not_finished_polls`), and the Entra ID token (cached for its hour: none",
    "here).",
)


@dataclass(frozen=True)
class Post:
    record_id: str  # PrimaryEntityId of the posted context
    started: float  # time.monotonic()
    seconds: float  # until the answer (or the error)
    outcome: int | str  # status, or the error text


@dataclass
class Measured:
    edits: list[Edit]
    posts: list[Post]
    failures: int  # the sandbox's failed deliveries
    runs: list[AuditRecord]  # MarketingListsDataOut rows started while measuring
    data_in: list[AuditRecord]  # the two-way runs' DataIn phase rows
    log: CallLog
    rate: float
    contacts: int
    driven_seconds: float
    wall_seconds: float
    cpu_seconds: float  # the whole process: host, endpoint, sandboxes, driver, watcher
    worker_cpu: list[float]  # thread CPU of each worker message (the runs' client side)
    endpoint_cpu: list[float]  # thread CPU of each endpoint call
    endpoint_storage: Counter[str]  # the endpoint's Azure Storage requests, by method and name
    epoch_offset: float  # time.time() - time.monotonic() while measuring
    load: float  # the machine's 1-minute load average at the end

    @property
    def all_seen(self) -> bool:
        return all(edit.seen is not None for edit in self.edits)

    def mono(self, moment: datetime) -> float:
        return moment.timestamp() - self.epoch_offset


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(q * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def _spread(values: Sequence[float], unit: str = "s", scale: float = 1.0) -> list[str]:
    return [f"{quantile(values, q) * scale:,.{1 if unit == 's' else 0}f} {unit}"
            for q in (0.5, 0.95, 1.0)]  # fmt: skip


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


@dataclass(frozen=True)
class Parts:
    """Per edit seen: where its latency went."""

    to_answer: list[float]  # edit -> the endpoint's answer to its post
    waiting: list[float]  # answer -> start of the run that delivered it (coalescing, a run busy)
    in_run: list[float]  # from that run's start (or the answer, if later) -> seen in the book


def split(m: Measured) -> Parts:
    answered = {p.record_id: p.started + p.seconds for p in m.posts}
    windows = sorted(
        (m.mono(r.started), m.mono(r.finished)) for r in m.runs if r.finished is not None
    )
    parts = Parts([], [], [])
    for edit in m.edits:
        answer = answered.get(edit.contact_id.lower())
        if edit.seen is None or answer is None:
            continue
        # The run that delivered it: the first one still going (or just over: the watcher looks
        # every 0.2 s) when the value was seen.
        run = next(((s, f) for s, f in windows if f + 1.0 >= edit.seen), None)
        start = run[0] if run is not None else answer
        parts.to_answer.append(answer - edit.edited)
        parts.waiting.append(max(0.0, start - answer))
        parts.in_run.append(edit.seen - max(start, answer))
    return parts


def _pushed(run: AuditRecord) -> bool:
    return bool(run.counts.created + run.counts.updated + run.counts.deleted)


def minimum(m: Measured) -> dict[tuple[str, str], int]:
    """The calls the Webhook runs could not do without (see MINIMUM_NOTES)."""
    runs = [r for r in m.runs if r.trigger == "Webhook"]
    pushing = sum(1 for r in runs if _pushed(r))
    pages = math.ceil(m.contacts / MEMBER_PAGE)
    return {
        (DATAVERSE, LISTS): len(runs),
        (DATAVERSE, MEMBER_PAGES): len(runs) * pages,
        (DOTDIGITAL, IMPORT_ROUTE): pushing,
        (DOTDIGITAL, IMPORT_STATUS): pushing,
    }


def render(m: Measured, generated_at: datetime) -> str:
    lines = [
        "# Webhooks: from a Dynamics edit to the address book",
        "",
        f"Generated by `python -m bench.webhook_latency` ({generated_at:%Y-%m-%d %H:%M} UTC; "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores "
        f"shared with other work: load average {m.load:.1f} at the end).",
        "",
        "One process holds both sandboxes and the local Functions host (timers, the queue polled",
        "every 0.2 s by 2 workers, the HTTP function); Azurite runs in memory, in node. Setup (not",
        f"measured): one account, an email-activated contact list of {m.contacts:,} members",
        "already pushed once (Sync Now), MarketingListsDataOut every 5 minutes with its first",
        "scheduled run a day away, `webhooks register` against the host's URL. Measured:",
        f"{len(m.edits):,} edits of distinct members' job title (mapped to JOBROLE) at "
        f"{m.rate:g}/s, made",
        "as a CRM user through `DataverseState.update`; the sandbox posts each one (one delivery",
        "thread, as Dataverse's asynchronous service would); a watcher looks for each new value",
        "in the address book every 0.2 s. WEBHOOK_COALESCE_SECONDS at its default "
        f"({COALESCE_SECONDS:g}).",
        "",
    ]
    for section in (_latency, _calls, _endpoint, _cpu):
        lines += section(m)
    return "\n".join(lines)


def _runs(m: Measured) -> tuple[list[AuditRecord], list[float]]:
    webhook = [r for r in m.runs if r.trigger == "Webhook"]
    return webhook, [(r.finished - r.started).total_seconds() for r in webhook if r.finished]


def _statuses(records: Sequence[AuditRecord]) -> str:
    counts = Counter(r.status.value for r in records)
    return ", ".join(f"{status}: {n}" for status, n in counts.items()) or "none"


def _latency(m: Measured) -> list[str]:
    latencies = [e.seen - e.edited for e in m.edits if e.seen is not None]
    missing = [e for e in m.edits if e.seen is None]
    p95 = quantile(latencies, 0.95)
    verdict = "pass" if not missing and p95 < TARGET_P95_SECONDS else "FAIL"
    answers = Counter(str(p.outcome) for p in m.posts)
    webhook, durations = _runs(m)
    others = len(m.runs) - len(webhook)
    pushed = [
        (r.finished - r.started).total_seconds() for r in webhook if r.finished and _pushed(r)
    ]
    parts = split(m)
    return [
        "## Latency",
        "",
        *_table(
            ["", "p50", "p95", "max"],
            [
                ["edit -> in the address book", *_spread(latencies)],
                ["edit -> the endpoint answered its post", *_spread(parts.to_answer)],
                ["answered -> start of the run that delivered it", *_spread(parts.waiting)],
                ["that run's start -> in the book", *_spread(parts.in_run)],
                ["Webhook run (audit: start to end)", *_spread(durations)],
            ],
        ),
        "",
        f"- Target p95 < {TARGET_P95_SECONDS:g} s: **{verdict}** (p95 {p95:.1f} s).",
        f"- Edits: {len(m.edits):,} made in {m.driven_seconds:.1f} s "
        f"({len(m.edits) / max(m.driven_seconds, 1e-9):.1f}/s); seen in the book: "
        f"{len(latencies):,}; never seen: {len(missing)}"
        + (f" (e.g. {', '.join(e.value for e in missing[:3])})" if missing else "")
        + ".",
        "- Posts answered by status: "
        + ", ".join(f"{status}: {n:,}" for status, n in sorted(answers.items()))
        + f"; failed deliveries: {m.failures}.",
        f"- MarketingListsDataOut runs while measuring: {len(webhook)} Webhook "
        f"({_statuses(webhook)}), {others} with another trigger; "
        f"{len(m.edits) / max(len(webhook), 1):.1f} edits per Webhook run. Their DataIn "
        f"phase rows: {_statuses(m.data_in)}.",
        "",
        "Where the time goes: the first event of a window queues a Webhook run "
        f"{COALESCE_SECONDS:g} s ahead;",
        "events that arrive while a run is queued or in progress are taken by the next one, "
        "which the",
        "worker queues (the same delay ahead) when that run ends: hence the wait above, up to "
        "one run",
        f"plus the window. A run that pushes spends {IMPORT_POLL_SECONDS:g} s of its "
        f"{quantile(pushed, 0.5):.1f} s (p50) waiting for its import: `list_push` polls the",
        "import's status at once (the sandbox answers the first poll NotFinished: its",
        f"default), then every {IMPORT_POLL_SECONDS:g} s (`IMPORT_POLL_SECONDS`); "
        "reading the lists and their",
        "members, the snapshot and the import itself take the rest. The sandbox posts one at a "
        "time, so",
        "the endpoint's answer time (below) becomes a queue when posts come faster than it "
        f"answers: edit -> answered p95 {quantile(parts.to_answer, 0.95):.1f} s here. Runs with "
        f"nothing to push: {len(durations) - len(pushed)}",
        f"(events noted less than {CLOCK_MARGIN.total_seconds():g} s before a run started, "
        "`CLOCK_MARGIN`, are left for one more run, which finds",
        "them pushed already).",
        "",
    ]


def _calls(m: Measured) -> list[str]:
    webhook, _ = _runs(m)
    n_runs, n_events = max(len(webhook), 1), max(len(m.edits), 1)
    floor = minimum(m)
    least = sum(floor.values())
    rows = []
    for (api, route), n in sorted(m.log.calls.items()):
        need = floor.pop((api, route), 0)
        rows.append([api, f"`{route}`", f"{n:,}", f"{n / n_runs:.2f}", f"{n / n_events:.3f}",
                     f"{need:,}"])  # fmt: skip
    for (api, route), need in floor.items():
        rows.append([api, f"`{route}`", "0", "0", "0", f"{need:,}"])
    total = m.log.total()
    lines = [
        "## API calls",
        "",
        "Every request of the product's clients while measuring, per Webhook run "
        f"({len(webhook)}) and per edit ({n_events:,}), against the minimum:",
        "",
        *_table(["API", "route", "calls", "per run", "per edit", "minimum"], rows),
        f"| **all** | | {total:,} | {total / n_runs:.2f} | {total / n_events:.3f} | {least:,} |",
        "",
        *MINIMUM_NOTES,
        "",
    ]
    if m.log.refused:
        refused = ", ".join(f"{a} {r} {s}: {n}" for (a, r, s), n in sorted(m.log.refused.items()))
        lines += [f"Answers that were not a success: {refused}.", ""]
    return lines


def _endpoint(m: Measured) -> list[str]:
    posts = max(len(m.endpoint_cpu), 1)
    storage = sum(m.endpoint_storage.values())
    by_name = ", ".join(f"{name} {n:,}" for name, n in sorted(m.endpoint_storage.items()))
    return [
        "## The endpoint",
        "",
        *_table(
            ["", "p50", "p95", "max"],
            [
                [
                    "answer time (the sandbox's post -> answer)",
                    *_spread([p.seconds for p in m.posts], "ms", 1000),
                ],
                ["thread CPU per post", *_spread(m.endpoint_cpu, "ms", 1000)],
            ],
        ),
        "",
        f"Azure Storage requests: {storage / posts:.2f} per post, {storage:,} for {posts:,} "
        f"posts ({by_name}).",
        "Nothing in the answer calls Dataverse or Dotdigital; Dataverse waits 60 s for it.",
        "",
    ]


def _cpu(m: Measured) -> list[str]:
    webhook, _ = _runs(m)
    worker, endpoint = sum(m.worker_cpu), sum(m.endpoint_cpu)
    return [
        "## CPU",
        "",
        f"- Wall time {m.wall_seconds:.1f} s (driving {m.driven_seconds:.1f} s, then draining); "
        f"process CPU {m.cpu_seconds:.1f} s ({m.cpu_seconds / max(m.wall_seconds, 1e-9):.0%} "
        "of one core): the host, the endpoint, both sandboxes, the driver and the watcher.",
        f"- Of which the worker's threads (the runs' client side): {worker:.1f} s "
        f"({worker / max(len(webhook), 1):.2f} s per run, {len(m.worker_cpu)} messages); "
        f"the endpoint's: {endpoint:.1f} s.",
        "",
    ]
