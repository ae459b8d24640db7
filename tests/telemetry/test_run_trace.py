"""A run is one trace: the scheduler tick, then each worker slice (its message sent through the
local queue on Azurite carries the context), then the API calls each slice made."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.address_books import AddressBooks
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import run_scheduled, take_queued

BOOKS = SyncType.ADDRESS_BOOKS


def _children(parent: ReadableSpan, every: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in every if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_a_runs_spans_link_the_tick_to_the_api_calls_of_each_slice(
    sync_runtime: Runtime, acme: EmailAccount, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox, dotdigital_sandbox: DotdigitalSandbox,
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # A Dotdigital address book of five people, two of them Dynamics contacts, read a page of
    # two at a time: the run checkpoints after each page and pauses there (a slice per page).
    emails = [f"p{n}@example.com" for n in range(5)]
    for email in emails[:2]:
        dataverse_sandbox.state.insert("contact", {"emailaddress1": email, "lastname": "P"})
    dd = dotdigital_sandbox.state
    with dd.lock:
        book = dd.store.add_book("Spring news")
        for email in emails:
            dd.store.join(book, dd.store.add_contact(email, when=dd.now()), dd.now())
    sync_runtime.registry = catalogue().replaced(AddressBooks(page_size=2))
    sync_runtime.settings = sync_runtime.settings.model_copy(
        update={"continuation_delay_seconds": 0.0}
    )
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    host = build_host(sync_runtime, visibility=timedelta(seconds=2), max_deliveries=3)

    audit = run_scheduled(sync_runtime, host, clock, "acme", BOOKS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    every = list(spans.get_finished_spans())
    [tick] = [s for s in every if s.name == "scheduler tick"]
    slices = [s for s in every if s.name == "sync slice"]
    assert len(slices) >= 2, [s.name for s in every]
    assert {s.context.trace_id for s in every} == {tick.context.trace_id}
    # The first slice is the tick's child, each later one the child of the slice that sent it.
    chain = [tick, *sorted(slices, key=lambda s: int(str((s.attributes or {})["sequence"])))]
    for parent, child in itertools.pairwise(chain):
        assert child.parent is not None and child.parent.span_id == parent.context.span_id
    platforms: set[object] = set()
    for n, work in enumerate(chain[1:]):
        attributes = dict(work.attributes or {})
        assert attributes["run_id"] == audit.run_id and attributes["sequence"] == n
        assert (attributes["sync_type"], attributes["account_id"]) == (BOOKS.value, "acme")
        assert attributes["trigger"] == ("Scheduled" if n == 0 else "Continuation")
        calls = [s for s in _children(work, every) if s.name != "sync slice"]
        assert calls, f"slice {n} has no API call span"
        platforms.update(dict(c.attributes or {})["connector.platform"] for c in calls)
    assert platforms == {"dataverse", "dotdigital"}


def test_a_sync_now_run_is_traced_from_the_request_and_an_old_message_starts_its_own_trace(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, spans: InMemorySpanExporter
) -> None:
    assert admin.sync_now(sync_runtime, "acme", SyncType.DATA_LABELS).accepted
    host.drain()
    every = list(spans.get_finished_spans())
    [request] = [s for s in every if s.name == "sync now"]
    [work] = [s for s in every if s.name == "sync slice"]
    assert work.parent is not None and work.parent.span_id == request.context.span_id
    assert dict(work.attributes or {})["trigger"] == "Manual"

    # A message queued before this version (no traceparent) is still handled, as a new trace.
    spans.clear()
    assert admin.sync_now(sync_runtime, "acme", SyncType.DATA_LABELS).accepted
    [message] = take_queued(sync_runtime)
    old_body = message.model_copy(update={"traceparent": None}).to_json()
    assert Worker(sync_runtime).handle(old_body) is Outcome.FINISHED
    [work] = [s for s in spans.get_finished_spans() if s.name == "sync slice"]
    assert work.parent is None
