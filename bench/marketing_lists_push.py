"""Benchmark: MarketingListsDataOut on a large contact list, first push and a 1% increment.

    python -m bench.marketing_lists_push [--sizes 10000 100000] [--memory separate]

Per size, against a fresh sandbox process (`bench.sandbox_process`, seeded with that many
Dataverse contacts) and a fresh set of Azurite tables:

1. setup (not measured, through the Web API with a client of its own): 300 accounts, 60% of the
   contacts get a parent account, a static marketing list holding every contact, email-activated
   for the benchmark account; the account has the default mappings plus JOBROLE (jobtitle) and
   COMPANY (parentcustomerid -> account name, default "Independent");
2. first push: one MarketingListsDataOut run through the worker (`Worker.handle`, the run's
   message taken from the Azurite queue), the handler pinned to DataOut alone;
3. 1% of the members change: 40% get a new job title, 20% leave the list, 20% are new contacts
   added to it, 10% are deactivated, 10% change their email address;
4. incremental run, measured like the first.

Every request of the measured process is counted by API and route (`bench.calls`), against the
protocol minimum. Wall time is split into the time spent writing and reading the member
snapshot in Table Storage, waiting between import status polls, and the rest. Peak memory is
tracemalloc's peak of this process (the sandboxes and Azurite run elsewhere); with `--memory
separate` (default) each size runs twice, timed then traced. The sandboxes then check that the
address book holds exactly the list's active members with their names.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import ssl
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bench.calls import DOTDIGITAL, CallLog
from bench.marketing_lists_report import POLLS, mb, render
from bench.product_runtime import bench_settings, counting_runtime, run_to_completion
from bench.sandbox_process import Endpoints, Outcome, SandboxProcess
from shared.accounts import EmailAccount
from shared.azurite import AzuriteProcess, start_azurite
from shared.clients import BatchRequest, DataverseClient, MemberType, MsalTokenProvider, RetryPolicy
from shared.clients.dotdigital.client import DotdigitalClient
from shared.dynamics_schema import MembershipAction
from shared.mappings.model import DataMapping, MappedEntity
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, LabelOrigin
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists import list_push
from shared.sync.marketing_lists.data_out import MarketingListsDataOut
from shared.sync.marketing_lists.push_index import SnapshotIndex
from shared.sync.marketing_lists.snapshot_repo import list_members
from shared.sync_types import SyncType

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "marketing_lists_push.md"
DEFAULT_SIZES = (10_000, 100_000)
DEFAULT_POLL_INTERVAL = 0.1
MEMORY_MODES = ("separate", "same", "off")
OUT = SyncType.MARKETING_LISTS_DATA_OUT
ACCOUNT_ID = "bench"
PASSWORD_SETTING = "BENCH_DOTDIGITAL_PASSWORD"
LIST_NAME = "Benchmark newsletter"
ACCOUNTS = 300
PARENT_SHARE = 0.6
HTTP_TIMEOUT_SECONDS = 300.0


# Timing the parts of a run ------------------------------------------------------------------


@dataclass
class Clocks:
    """Seconds spent in the parts of a run that are not the sync's own work."""

    snapshot_writes: float = 0.0  # appending chunks (encoding included), compaction
    snapshot_records: int = 0  # member records written (tombstones included)
    snapshot_reads: float = 0.0  # index loads, key scans, lookups (decoding included)
    index_members: int = 0
    poll_waits: float = 0.0
    _depth: int = 0

    def sleep(self, seconds: float) -> None:
        self.poll_waits += seconds
        time.sleep(seconds)

    @property
    def snapshot(self) -> float:
        return self.snapshot_writes + self.snapshot_reads

    @contextmanager
    def span(self, kind: str) -> Iterator[None]:
        """Time the outermost snapshot call only: a load that scans is one read, not two."""
        started = time.perf_counter()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                setattr(self, kind, getattr(self, kind) + time.perf_counter() - started)


@contextmanager
def timed_storage(rt: Runtime, clocks: Clocks) -> Iterator[None]:
    """Time every use of the snapshot store in the run (wrappers around the real calls)."""
    repo = list_members(rt)
    writes = ("upsert_many", "delete_many", "delete_list", "rewrite")
    reads = ("lookup", "iter_members", "iter_key_chunks")
    originals = {name: getattr(repo, name) for name in (*writes, *reads)}

    def timed(name: str, kind: str) -> Any:
        call = originals[name]

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with clocks.span(kind):
                result = call(*args, **kwargs)
            if name == "upsert_many":
                clocks.snapshot_records += result
            return timed_iter(result, kind) if name.startswith("iter_") else result

        return wrapper

    def timed_iter(items: Iterator[Any], kind: str) -> Iterator[Any]:
        while True:
            with clocks.span(kind):
                item = next(items, StopIteration)
            if item is StopIteration:
                return
            yield item

    load = SnapshotIndex.load.__func__  # type: ignore[attr-defined]
    resolve = SnapshotIndex.resolve

    def load_index(cls: type[SnapshotIndex], *args: Any) -> SnapshotIndex:
        with clocks.span("snapshot_reads"):
            index: SnapshotIndex = load(cls, *args)
        clocks.index_members += len(index)
        return index

    def timed_resolve(index: SnapshotIndex, *args: Any, **kwargs: Any) -> Any:
        with clocks.span("snapshot_reads"):
            return resolve(index, *args, **kwargs)

    for name in writes:
        setattr(repo, name, timed(name, "snapshot_writes"))
    for name in reads:
        setattr(repo, name, timed(name, "snapshot_reads"))
    SnapshotIndex.load = classmethod(load_index)  # type: ignore[method-assign,assignment]
    SnapshotIndex.resolve = timed_resolve  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        for name in originals:
            delattr(repo, name)
        SnapshotIndex.load = classmethod(load)  # type: ignore[method-assign,assignment]
        SnapshotIndex.resolve = resolve  # type: ignore[method-assign]


# Setup (not measured) ----------------------------------------------------------------------


@dataclass
class ListSetup:
    list_id: str
    members: dict[str, bool]  # contact id -> active
    changes: dict[str, int] = field(default_factory=dict)

    @property
    def eligible(self) -> int:
        return sum(self.members.values())


def setup_client(endpoints: Endpoints) -> DataverseClient:
    http = httpx.Client(
        verify=ssl.create_default_context(cafile=endpoints.ca_path), timeout=HTTP_TIMEOUT_SECONDS
    )
    tokens = MsalTokenProvider(
        endpoints.tenant_id, endpoints.client_id, SecretStr(endpoints.client_secret),
        org_url=endpoints.dataverse_url, authority_host=endpoints.dataverse_url, http_client=http,
    )  # fmt: skip
    return DataverseClient(
        endpoints.dataverse_url, tokens, http=http, retry=RetryPolicy(), owns_http=True
    )


def build_list(dv: DataverseClient) -> ListSetup:
    rows = list(dv.iter_records("contacts", ["contactid", "statecode"]))
    members = {str(r["contactid"]): r["statecode"] == 0 for r in rows}
    accounts = dv.execute_batch(
        [BatchRequest.create("accounts", {"name": f"Bench Account {n}"}) for n in range(ACCOUNTS)]
    )
    account_ids = [r.entity_id for r in accounts.results]
    draw = random.Random(f"bench-parents-{len(members)}")
    parents = [
        BatchRequest.update(
            "contacts",
            contact_id,
            {"parentcustomerid_account@odata.bind": f"/accounts({draw.choice(account_ids)})"},
        )
        for contact_id in members
        if draw.random() < PARENT_SHARE
    ]
    _check(dv.execute_batch(parents), "parent accounts")
    created = dv.create(
        "lists",
        {
            "listname": LIST_NAME, "type": False, "createdfromcode": 2,
            "dms_emailaccountid": ACCOUNT_ID, "dms_emailactivated": True,
            "dms_membershipaction": int(MembershipAction.IGNORE_UNLISTED),
        },
    )  # fmt: skip
    _check(dv.add_list_members(created.id, list(members)), "list members")
    return ListSetup(created.id, members)


def _check(outcome: Any, what: str) -> None:
    if outcome.failed or outcome.not_executed:
        raise RuntimeError(f"setup of {what}: {outcome.failed + outcome.not_executed} failed")


def change_members(dv: DataverseClient, setup: ListSetup, share: float) -> None:
    """`share` of the members change: titles, removals, additions, deactivations, emails."""
    count = max(10, int(len(setup.members) * share))
    active = [m for m, on in setup.members.items() if on]
    step = max(1, len(active) // count)
    picked = active[::step][:count]
    plan = {
        "retitled": picked[: count * 4 // 10],
        "removed": picked[count * 4 // 10 : count * 6 // 10],
        "deactivated": picked[count * 6 // 10 : count * 7 // 10],
        "email changed": picked[count * 7 // 10 : count * 8 // 10],
    }
    added = count - sum(len(v) for v in plan.values())
    requests = [
        *(BatchRequest.update("contacts", m, {"jobtitle": "Benchmark lead"})
          for m in plan["retitled"]),
        *(BatchRequest.update("contacts", m, {"statecode": 1, "statuscode": 2})
          for m in plan["deactivated"]),
        *(BatchRequest.update("contacts", m, {"emailaddress1": f"moved.{n}@example.org"})
          for n, m in enumerate(plan["email changed"])),
    ]  # fmt: skip
    _check(dv.execute_batch(requests), "changed contacts")
    _check(dv.remove_list_members(setup.list_id, MemberType.CONTACT, plan["removed"]), "removals")
    new = dv.execute_batch(
        [
            BatchRequest.create("contacts", {"firstname": "New", "lastname": f"Member {n}",
                                             "emailaddress1": f"new.member.{n}@example.net"})
            for n in range(added)
        ]
    )  # fmt: skip
    new_ids = [str(r.entity_id) for r in new.results]
    _check(dv.add_list_members(setup.list_id, new_ids), "added members")
    for member in plan["removed"]:
        del setup.members[member]
    for member in plan["deactivated"]:
        setup.members[member] = False
    setup.members.update(dict.fromkeys(new_ids, True))
    setup.changes = {**{k: len(v) for k, v in plan.items()}, "added": added}


def provision(rt: Runtime, endpoints: Endpoints) -> None:
    account = EmailAccount(
        account_id=ACCOUNT_ID, name="Benchmark", api_user=endpoints.api_user,
        api_password_secret_name=PASSWORD_SETTING,
    )  # fmt: skip
    admin.provision_account(rt, account)  # + the default mappings
    for name, default in (("COMPANY", "Independent"), ("JOBROLE", None)):
        rt.data_labels.save(
            ACCOUNT_ID,
            DataLabel(name=name, default_value=default, origin=LabelOrigin.PLATFORM,
                      is_synchronised=True),
        )  # fmt: skip
    rt.mappings.create(
        ACCOUNT_ID,
        DataMapping(label="JOBROLE", entity=MappedEntity.CONTACT, primary_field="jobtitle"),
    )
    rt.mappings.create(
        ACCOUNT_ID,
        DataMapping(label="COMPANY", entity=MappedEntity.CONTACT, primary_field="parentcustomerid",
                    linked_entity="account", linked_field="name"),
    )  # fmt: skip
    dotdigital = DotdigitalClient.connect(
        endpoints.dotdigital_url, endpoints.api_user, SecretStr(endpoints.api_password),
        http=httpx.Client(timeout=HTTP_TIMEOUT_SECONDS), retry=RetryPolicy(),
    )  # fmt: skip
    for name in ("COMPANY", "JOBROLE"):
        dotdigital.create_data_field(name, "String")


# The measured runtime -----------------------------------------------------------------------


@dataclass
class CurrentClocks:
    """The retry policy is frozen: its sleep goes through this to the current phase's clocks."""

    clocks: Clocks = field(default_factory=Clocks)

    def sleep(self, seconds: float) -> None:
        self.clocks.sleep(seconds)


def measured_runtime(
    azurite: AzuriteProcess, endpoints: Endpoints, log: CallLog, current: CurrentClocks
) -> Runtime:
    """The product's runtime on Azurite and the sandboxes, its httpx clients counting."""
    settings = bench_settings(azurite, endpoints).model_copy(
        # One slice per run, so the figures are of the work and not of its continuations.
        # Past the host's functionTimeout on purpose (Settings would refuse it): no host here.
        update={"run_time_budget_seconds": 3600.0, "run_lease_seconds": 7200.0}
    )
    rt = counting_runtime(
        settings, endpoints, log, retry=RetryPolicy(sleep=current.sleep),
        timeout=HTTP_TIMEOUT_SECONDS,
    )  # fmt: skip
    rt.registry = catalogue().replaced(MarketingListsDataOut())  # DataOut alone
    return rt


def run_once(rt: Runtime) -> None:
    """Sync Now, then the worker takes the message(s) until the run is over."""
    run_to_completion(rt, ACCOUNT_ID, OUT)


# Measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str  # "first push" | "1% increment"
    members: int  # list members when it ran
    changed: int  # members that changed since the last run (first push: every member)
    calls: dict[tuple[str, str], int]
    wall_seconds: float
    cpu_seconds: float
    clocks: Clocks
    peak_bytes: int | None
    audit_status: str
    audit_message: str
    counts: dict[str, int]
    import_body_bytes: tuple[int, ...]
    linked_batches_minimum: int
    traced: bool = False  # timed with tracemalloc on (a single pass)

    def count(self, api: str, route: str | None = None) -> int:
        return sum(n for (a, r), n in self.calls.items() if a == api and route in (None, r))

    @property
    def polls(self) -> int:
        return sum(self.count(DOTDIGITAL, route) for route in POLLS)

    @property
    def total_without_polls(self) -> int:
        return sum(self.calls.values()) - self.polls

    def minimum(self, first_in_process: bool) -> dict[str, int]:
        """Fewest calls the protocol allows for this run (import status polls apart)."""
        sent = self.counts["created"] + self.counts["updated"]
        removed_ids = self.counts["deleted"] + (
            self.counts.get("email_changes", 0) if self.name != "first push" else 0
        )
        return {
            "Entra ID": 2 if first_in_process else 0,  # msal's metadata + one token
            "Dataverse lists": 1,
            "Dataverse member pages": max(1, math.ceil(self.members / 5000)),
            "Dataverse $batch (linked)": self.linked_batches_minimum,
            "Dotdigital account-info": 1 if first_in_process else 0,
            "Dotdigital address books": 1 + (1 if self.name == "first push" else 0),
            "Dotdigital imports": math.ceil(sent / list_push.IMPORT_LIMITS.max_contacts)  # type: ignore[operator]
            if sent
            else 0,
            "Dotdigital removals": math.ceil(removed_ids / 1000) if removed_ids else 0,
        }


def measure_phase(
    name: str, rt: Runtime, log: CallLog, current: CurrentClocks, *, members: int,
    changed: int, trace: bool,
) -> Phase:  # fmt: skip
    log.calls.clear()
    log.refused.clear()
    log.import_body_bytes.clear()
    clocks = current.clocks = Clocks()
    gc.collect()
    if trace:
        tracemalloc.start()
    try:
        with timed_storage(rt, clocks):
            started, cpu = time.perf_counter(), time.process_time()
            run_once(rt)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if trace else None
    finally:
        if trace:
            tracemalloc.stop()
    [audit] = rt.audit.recent(ACCOUNT_ID, sync_type=OUT, limit=1)
    return Phase(
        name=name,
        members=members,
        changed=changed,
        calls=dict(log.calls),
        wall_seconds=wall,
        cpu_seconds=cpu,
        clocks=clocks,
        peak_bytes=peak,
        audit_status=audit.status.value,
        audit_message=audit.message,
        counts=audit.counts.model_dump(),
        import_body_bytes=tuple(log.import_body_bytes),
        linked_batches_minimum=max(1, math.ceil(members / 5000)),
        traced=trace,
    )


@dataclass(frozen=True)
class SizeResult:
    size: int
    phases: tuple[Phase, Phase]
    outcome: Outcome
    expected_in_book: int
    setup_seconds: float
    changes: dict[str, int]
    memory_pass_calls_match: bool | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome.book_members == self.outcome.delivered == self.expected_in_book


def run_size(
    size: int, azurite: AzuriteProcess, *, share: float, poll: float, trace: bool
) -> SizeResult:
    list_push.IMPORT_POLL_SECONDS = list_push.REMOVAL_POLL_SECONDS = poll
    with SandboxProcess(size) as sandbox:
        endpoints = sandbox.endpoints
        started = time.perf_counter()
        dv = setup_client(endpoints)
        setup = build_list(dv)
        log = CallLog(
            endpoints.dataverse_url, (endpoints.dotdigital_url, endpoints.dotdigital_api_endpoint)
        )
        current = CurrentClocks()
        rt = measured_runtime(azurite, endpoints, log, current)
        provision(rt, endpoints)
        setup_seconds = time.perf_counter() - started
        first = measure_phase("first push", rt, log, current, members=len(setup.members),
                              changed=len(setup.members), trace=trace)  # fmt: skip
        change_members(dv, setup, share)
        increment = measure_phase(
            f"{share:.0%} increment", rt, log, current, members=len(setup.members),
            changed=sum(setup.changes.values()), trace=trace,
        )  # fmt: skip
        increment.counts["email_changes"] = setup.changes["email changed"]
        dv.close()
        outcome = sandbox.finish(
            {
                "book": LIST_NAME,
                "email": "emailaddress1",
                "fields": {"FIRSTNAME": "firstname", "LASTNAME": "lastname"},
            }
        )
    return SizeResult(size, (first, increment), outcome, setup.eligible, setup_seconds,
                      setup.changes)  # fmt: skip


def measure_size(
    size: int, azurite: AzuriteProcess, *, share: float, poll: float, memory: str
) -> SizeResult:
    """Per `memory`: timed, then traced for the peak ("separate"); one traced pass ("same");
    timed only ("off")."""
    if memory != "separate":
        return run_size(size, azurite, share=share, poll=poll, trace=memory == "same")
    timed = run_size(size, azurite, share=share, poll=poll, trace=False)
    traced = run_size(size, azurite, share=share, poll=poll, trace=True)
    phases = tuple(
        replace(t, peak_bytes=m.peak_bytes)
        for t, m in zip(timed.phases, traced.phases, strict=True)
    )
    same_calls = all(t.calls == m.calls for t, m in zip(timed.phases, traced.phases, strict=True))
    return replace(timed, phases=phases, memory_pass_calls_match=same_calls)  # type: ignore[arg-type]


def index_footprint(members: int) -> int:
    """Bytes a `SnapshotIndex` of `members` members takes (tracemalloc), random GUIDs and
    128-bit hashes as real ones are."""
    draw = random.Random(members)
    keys = [
        (uuid.uuid4().bytes, draw.randrange(256), draw.randrange(2**32), 1_000_000 + n, 0)
        for n in range(members)
    ]
    gc.collect()
    tracemalloc.start()
    index = SnapshotIndex(iter(keys))
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del index
    return size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.marketing_lists_push")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--changed-share", type=float, default=0.01)
    parser.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL)
    parser.add_argument("--memory", choices=MEMORY_MODES, default="separate")
    parser.add_argument(
        "--single-pass-from", type=int, default=None, metavar="SIZE",
        help="sizes from SIZE on run once, traced (for the peak of a size too slow to run twice)",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    command = "python -m bench.marketing_lists_push " + " ".join(
        sys.argv[1:] if argv is None else list(argv)
    )
    started_at, started = datetime.now(UTC), time.perf_counter()
    azurite = start_azurite(in_memory=True)
    results = []
    try:
        for size in sorted(set(args.sizes)):
            print(f"{size:,} members ...", flush=True)
            memory = args.memory
            if args.single_pass_from is not None and size >= args.single_pass_from:
                memory = "same"
            result = measure_size(size, azurite, share=args.changed_share,
                                  poll=args.poll_interval, memory=memory)  # fmt: skip
            for phase in result.phases:
                print(
                    f"  {phase.name}: {sum(phase.calls.values())} calls, "
                    f"{phase.wall_seconds:.1f} s, peak {mb(phase.peak_bytes)} MB, "
                    f"{phase.audit_status}: {phase.audit_message}",
                    flush=True,
                )
            results.append(result)
    finally:
        azurite.stop()
    meta = {
        "command": command.strip(),
        "started": started_at,
        "seconds": time.perf_counter() - started,
        "poll": args.poll_interval,
        "memory": args.memory,
        "index_footprint": index_footprint(100_000),
        "load": ", ".join(f"{n:.1f}" for n in os.getloadavg()),
        "accounts": ACCOUNTS,
        "parent_share": PARENT_SHARE,
    }
    text = render(results, meta=meta)
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"wrote {args.output}")
    return 0 if all(r.delivered for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
