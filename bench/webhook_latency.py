"""Benchmark: Dynamics contact edits through the webhook to the address book, end to end.

    python -m bench.webhook_latency [--edits 1000] [--rate 10] [--contacts 2000]
    (make bench-webhooks)

One process holds the sandboxes (Dataverse over TLS, Dotdigital) and the local Functions host
(timers, queue polling every 0.2 s, the HTTP function); Azurite runs in memory in node. Setup
(not measured): an account whose email-activated contact list has `--contacts` members, the
default mappings plus JOBROLE <- jobtitle, MarketingListsDataOut every 5 minutes with its first
scheduled run a day away (so only Webhook runs happen while measuring), a first Sync Now run
that fills the address book, then `webhooks register` against the host's URL. Measured: a
paced driver edits `--edits` distinct random members at `--rate` per second as a CRM user
(`DataverseState.update`, jobtitle set to a unique value); the sandbox posts each edit to the
endpoint (timed around its post); a watcher scans the address book every 0.2 s for each
value. WEBHOOK_COALESCE_SECONDS stays at its default (5). Every request of the product's
clients is counted (`bench.calls`). An edit not in the book after the drain period fails the
bench (exit 1). Writes bench/results/webhook_latency.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

from bench.calls import CallLog
from bench.product_runtime import PASSWORD_SETTING, bench_settings, counting_runtime
from bench.sandbox_process import Endpoints
from bench.webhook_latency_report import Measured, Post, render
from sandbox.dotdigital.state import DataFieldRecord
from sandbox.launch import Sandboxes, start_sandboxes
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.azurite import start_azurite
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.mappings.model import DataMapping, MappedEntity
from shared.pipeline import admin, worker
from shared.pipeline.webhook_registration import register
from shared.runtime import Runtime, install_runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.storage.data_labels_repo import DataLabel, LabelOrigin
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.fixtures.crm_fields import marketing_crm_fields

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "webhook_latency.md"
OUT = SyncType.MARKETING_LISTS_DATA_OUT
ACCOUNT_ID = "bench"
LIST_NAME = "Webhook newsletter"
KEY = "bench-webhook-key-not-a-secret"
SCAN_SECONDS = 0.2
POLL_SECONDS = 0.2
SETUP_TIMEOUT_SECONDS = 600.0
_in_endpoint = threading.local()  # set while the endpoint's function runs in this thread


@dataclass
class Edit:
    contact_id: str
    email: str
    value: str
    edited: float  # time.monotonic() once the edit was made
    seen: float | None = None  # when the watcher first found the value in the book


@dataclass
class World:
    sandboxes: Sandboxes
    rt: Runtime
    host: LocalHost
    log: CallLog
    members: dict[str, str]  # contact id -> email, the list's active members
    worker_cpu: list[float] = field(default_factory=list)  # thread CPU per worker message
    endpoint_cpu: list[float] = field(default_factory=list)  # thread CPU per post
    handling: int = 0  # worker messages in progress
    # Azure Storage requests made by the endpoint, by "METHOD table-or-queue".
    endpoint_storage: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


# Setup (not measured) ------------------------------------------------------------------------


def _labels_and_mappings(rt: Runtime, sandboxes: Sandboxes) -> None:
    for name in ("FIRSTNAME", "LASTNAME", "FULLNAME", "JOBROLE"):
        label = DataLabel(name=name, origin=LabelOrigin.PLATFORM, is_synchronised=True)
        rt.data_labels.save(ACCOUNT_ID, label)
    sandboxes.dotdigital.data_fields.append(DataFieldRecord("JOBROLE", "String"))
    rt.crm_fields.upsert(ACCOUNT_ID, marketing_crm_fields())
    admin.add_mapping(
        rt, ACCOUNT_ID, DataMapping(label="JOBROLE", entity=MappedEntity.CONTACT,
                                    primary_field="jobtitle"),
    )  # fmt: skip


def _members(sandboxes: Sandboxes, list_id: str) -> dict[str, str]:
    state = sandboxes.dataverse
    members: dict[str, str] = {}
    for contact_id in sorted(state.list_members(list_id)):
        row = state.row("contact", contact_id)
        if row and row["statecode"] == 0 and row.get("emailaddress1"):
            members[contact_id] = str(row["emailaddress1"])
    return members


def _wait_idle(bench: World, what: str) -> None:
    """Until no run is queued or in progress and the worker has returned."""
    deadline = time.monotonic() + SETUP_TIMEOUT_SECONDS
    rt = bench.rt
    while bench.handling or rt.schedules.get(ACCOUNT_ID, OUT).status is not ScheduleStatus.NONE:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not finish within {SETUP_TIMEOUT_SECONDS:g} s")
        time.sleep(0.2)


@contextmanager
def world(contacts: int) -> Iterator[World]:
    azurite = start_azurite(in_memory=True)
    sandboxes = start_sandboxes()
    host: LocalHost | None = None
    rt: Runtime | None = None
    try:
        seeded = sandboxes.dataverse.seed_data(contacts=contacts, lists=[(LIST_NAME, "contact",
                                                                          contacts)])  # fmt: skip
        list_id = seeded.lists[LIST_NAME]
        sandboxes.dataverse.update(
            "list", list_id,
            {"dms_emailaccountid": ACCOUNT_ID, "dms_emailactivated": True,
             "dms_membershipaction": 1},
        )  # fmt: skip
        endpoints = Endpoints.of(sandboxes, contacts=contacts, seed_seconds=0.0)
        log = CallLog(endpoints.dataverse_url, (endpoints.dotdigital_url,
                                                endpoints.dotdigital_api_endpoint))  # fmt: skip
        settings = bench_settings(azurite, endpoints, DYNAMICS_WEBHOOK_KEY=KEY)
        rt = counting_runtime(settings, endpoints, log)
        install_runtime(rt)
        account = EmailAccount(
            account_id=ACCOUNT_ID, name="Webhook bench", api_user=endpoints.api_user,
            api_password_secret_name=PASSWORD_SETTING,
        )  # fmt: skip
        # Every 5 minutes, the first scheduled run a day away: Webhook runs only while measuring.
        first = rt.clock() + timedelta(days=1)
        every_5 = ScheduleSpec(interval=Interval.MINUTES_5)
        admin.provision_account(rt, account, {OUT: every_5}, first_run=first)
        _labels_and_mappings(rt, sandboxes)
        host = build_host(rt, http_port=0, poll_seconds=POLL_SECONDS)
        bench = World(sandboxes, rt, host, log, _members(sandboxes, list_id))
        _meter_cpu(bench)
        host.start()
        admin.sync_now(rt, ACCOUNT_ID, OUT)  # the baseline: the whole list in the book
        _wait_idle(bench, "the baseline run")
        baseline = rt.audit.recent(ACCOUNT_ID, sync_type=OUT, limit=1)[0]
        if baseline.status is not AuditStatus.COMPLETED:
            raise RuntimeError(f"the baseline run ended {baseline.status}: {baseline.message}")
        outcome = register(rt, f"{host.base_url}/api/dynamics/webhook")
        if not outcome.changes:
            raise RuntimeError(f"webhooks register changed nothing: {outcome.summary}")
        yield bench
    finally:
        if host is not None:
            host.stop()
        if rt is not None:
            rt.close()
        install_runtime(None)
        sandboxes.stop()
        azurite.stop()


def _meter_cpu(bench: World) -> None:
    """Thread CPU of each worker message and each endpoint call (the bench's wrappers only)."""
    handle = worker.Worker.handle

    def metered_handle(self: worker.Worker, body: Any) -> Any:
        with bench.lock:
            bench.handling += 1
        started = time.thread_time()
        try:
            return handle(self, body)
        finally:
            with bench.lock:
                bench.worker_cpu.append(time.thread_time() - started)
                bench.handling -= 1

    worker.Worker.handle = metered_handle  # type: ignore[method-assign]
    import functions.webhooks as endpoint

    receive = endpoint.receive  # type: ignore[attr-defined]

    def metered_receive(*args: Any) -> Any:
        started = time.thread_time()
        _in_endpoint.on = True
        try:
            return receive(*args)
        finally:
            _in_endpoint.on = False
            bench.endpoint_cpu.append(time.thread_time() - started)

    endpoint.receive = metered_receive  # type: ignore[attr-defined,assignment]
    _count_storage(bench)


def _count_storage(bench: World) -> None:
    """Count the endpoint's Table and queue requests. Azure Storage clients send through
    `requests`; the product's API clients and the sandbox's posts use httpx, so only storage
    goes through this adapter."""
    send = HTTPAdapter.send
    prefix = bench.rt.settings.table_prefix

    def counted(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_in_endpoint, "on", False):
            # /devstoreaccount1/<table>(keys) or /devstoreaccount1/<queue>/messages
            parts = urlsplit(request.url).path.split("/")
            name = parts[2].split("(")[0] if len(parts) > 2 else "?"
            if name.startswith(prefix):
                name = name[len(prefix) :]
            elif len(parts) > 3 and parts[3] == "messages":
                name = "the sync queue"
            with bench.lock:
                bench.endpoint_storage[f"{request.method} {name}"] += 1
        return send(self, request, *args, **kwargs)

    HTTPAdapter.send = counted  # type: ignore[method-assign]


# Measurement -----------------------------------------------------------------------------------


def _time_posts(sandboxes: Sandboxes, posts: list[Post]) -> None:
    """Time each post of the sandbox's delivery thread (its answer, as Dataverse waits for it)."""
    hooks = sandboxes.dataverse.webhooks
    post = hooks._post

    def timed(client: Any, delivery: Any) -> int | str:
        started = time.monotonic()
        outcome = post(client, delivery)
        ended = time.monotonic()
        record = json.loads(delivery.body).get("PrimaryEntityId", "")
        posts.append(Post(str(record).lower(), started, ended - started, outcome))
        return outcome

    hooks._post = timed  # type: ignore[method-assign]


class Watcher:
    """Scans the address book under the sandbox's lock for the values still awaited."""

    def __init__(self, sandboxes: Sandboxes) -> None:
        self.state = sandboxes.dotdigital
        self.pending: dict[str, Edit] = {}  # email -> edit
        self.lock = threading.Lock()
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)

    def expect(self, edit: Edit) -> None:
        with self.lock:
            self.pending[edit.email.lower()] = edit

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def waiting(self) -> int:
        with self.lock:
            return len(self.pending)

    def scan(self) -> None:
        with self.lock:
            awaited = list(self.pending.items())
        found: list[str] = []
        with self.state.lock:
            store = self.state.store
            book = store.book_named(LIST_NAME)
            for email, edit in awaited:
                contact = store.by_email(email)
                if (
                    book is not None and contact is not None and contact.id in book.members
                    and contact.data.get("JOBROLE") == edit.value
                ):  # fmt: skip
                    found.append(email)
        now = time.monotonic()
        with self.lock:
            for email in found:
                edit = self.pending.pop(email)
                edit.seen = now
        self.scans += 1

    def _run(self) -> None:
        while not self._stop.wait(SCAN_SECONDS):
            self.scan()


def measure(bench: World, edits: int, rate: float, drain_seconds: float) -> Measured:
    if edits > len(bench.members):
        raise SystemExit(f"--edits {edits} is more than the list's {len(bench.members)} members")
    posts: list[Post] = []
    _time_posts(bench.sandboxes, posts)
    bench.log.calls.clear()
    bench.log.refused.clear()
    bench.worker_cpu.clear()
    bench.endpoint_cpu.clear()
    bench.endpoint_storage.clear()
    chosen = random.Random(11).sample(sorted(bench.members), edits)
    watcher = Watcher(bench.sandboxes)
    watcher.start()
    started_utc = bench.rt.clock()
    cpu0, wall0, epoch0 = time.process_time(), time.monotonic(), time.time()
    done: list[Edit] = []
    for n, contact_id in enumerate(chosen):
        due = wall0 + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        value = f"Webhook bench {n:05d}"
        bench.sandboxes.dataverse.update("contact", contact_id, {"jobtitle": value})
        edit = Edit(contact_id, bench.members[contact_id], value, time.monotonic())
        watcher.expect(edit)
        done.append(edit)
    driven = time.monotonic() - wall0
    deadline = time.monotonic() + drain_seconds
    while watcher.waiting() and time.monotonic() < deadline:
        time.sleep(SCAN_SECONDS)
    watcher.stop()
    watcher.scan()  # a last look
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    _wait_idle(bench, "the last Webhook run")
    rows = bench.rt.audit.recent(ACCOUNT_ID, since=started_utc)
    runs = [r for r in rows if r.sync_type == OUT]
    data_in = [r for r in rows if r.sync_type == SyncType.MARKETING_LISTS_DATA_IN]
    hooks = bench.sandboxes.dataverse.webhooks
    return Measured(
        edits=done,
        posts=posts,
        failures=len(hooks.failures),
        runs=runs,
        data_in=data_in,
        log=bench.log,
        rate=rate,
        contacts=len(bench.members),
        driven_seconds=driven,
        wall_seconds=wall,
        cpu_seconds=cpu,
        worker_cpu=list(bench.worker_cpu),
        endpoint_cpu=list(bench.endpoint_cpu),
        endpoint_storage=Counter(bench.endpoint_storage),
        epoch_offset=epoch0 - wall0,
        load=os.getloadavg()[0],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="edits per second")
    parser.add_argument("--contacts", type=int, default=2000, help="members of the list")
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to wait at the end")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    with world(args.contacts) as bench:
        measured = measure(bench, args.edits, args.rate, args.drain)
    text = render(measured, datetime.now(UTC))
    print(text)
    if not args.no_write:
        RESULTS_FILE.write_text(text)
    return 0 if measured.all_seen else 1


if __name__ == "__main__":
    sys.exit(main())
