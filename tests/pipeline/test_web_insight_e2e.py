"""WebInsight through the pipeline (timer -> Azurite queue -> worker) against both sandboxes:
the page views the site's tracking recorded become Web Page View rows in Dynamics, linked to the
person with the email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_web_insight import PAGE_VIEWS_SINCE
from sandbox.dotdigital.behaviour import PageViewRecord
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import iso
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.web_insight import WATERMARK_KEY, WebInsight, _ViewWriter, row_id
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

WEB = SyncType.WEB_INSIGHT
TABLE = "dms_webpageview"


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


def _view(
    dd: DotdigitalState, email: str, url: str, when: float, seconds: int = 30
) -> PageViewRecord:
    """A page view the tracking script recorded for the contact with this email."""
    with dd.lock:
        contact = dd.store.by_email(email) or dd.store.add_contact(email, when=when)
        return dd.web_insight.view(contact, url, when=when, duration_seconds=seconds)


def _record(dv: DataverseState, table: str, email: str) -> str:
    name = "name" if table == "account" else "lastname"
    return dv.insert(table, {"emailaddress1": email, name: email.split("@")[0]})


def _rows(dv: DataverseState) -> dict[str, dict[str, Any]]:
    rows = {}
    for key in list(dv.table(TABLE).rows):
        row = dv.row(TABLE, key)
        assert row is not None
        rows[key] = row
    return rows


def _ago(clock: ManualClock, **delta: float) -> float:
    return (clock.now - timedelta(**delta)).timestamp()


def _details(rt: Runtime, audit: AuditRecord, account: str = "acme") -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details(account, audit.row_key)}


def test_page_views_become_rows_linked_to_the_person_with_the_email(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    when = _ago(clock, hours=1)
    ada = _view(dd, "ada@example.com", "https://example.com/pricing", when, 95)
    ben = _view(dd, "ben@example.com", "https://example.com/", when + 60)
    cy = _view(dd, "cy@example.com", "https://example.com/contact", when + 120, 5)
    dee = _view(dd, "dee@example.com", "https://example.com/blog", when + 180)
    contact = _record(dv, "contact", "Ada@Example.com")
    _record(dv, "lead", "ada@example.com")  # a contact with the email comes first
    lead = _record(dv, "lead", "ben@example.com")
    account = _record(dv, "account", "cy@example.com")

    audit = run_scheduled(sync_runtime, host, clock, "acme", WEB)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    rows = _rows(dv)
    assert set(rows) == {row_id("acme", v.id) for v in (ada, ben, cy, dee)}
    first = rows[row_id("acme", ada.id)]
    assert (first["dms_url"], first["dms_viewedon"], first["dms_durationseconds"]) == (
        "https://example.com/pricing", iso(when), 95,
    )  # fmt: skip
    assert (first["dms_source"], first["dms_email"], first["dms_emailaccountid"]) == (
        2, "ada@example.com", "acme",
    )  # fmt: skip
    links = {
        key: (row["_dms_contactid_value"], row["_dms_leadid_value"], row["_dms_accountid_value"])
        for key, row in rows.items()
    }
    assert links == {
        row_id("acme", ada.id): (contact, None, None),
        row_id("acme", ben.id): (None, lead, None),
        row_id("acme", cy.id): (None, None, account),
        row_id("acme", dee.id): (None, None, None),  # not in Dynamics yet: the email is kept
    }
    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (4, 4, 0)
    assert audit.message == "4 page views read: 4 recorded"
    assert {item: d.counts.created for item, d in _details(sync_runtime, audit).items()} == {
        "contact": 1, "lead": 1, "account": 1, "no Dynamics record": 1,
    }  # fmt: skip
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) == clock.now.isoformat()


def test_later_runs_record_only_new_views_and_nothing_new_says_so(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    for n in range(3):
        _view(dd, f"p{n}@example.com", f"https://example.com/{n}", _ago(clock, hours=3))
    assert run_scheduled(sync_runtime, host, clock, "acme", WEB).counts.created == 3

    # A view from late in the last run's session: read again within the overlap, kept once.
    late = _view(dd, "p0@example.com", "https://example.com/late", _ago(clock, minutes=10))
    clock.advance(minutes=5)
    second = run_scheduled(sync_runtime, host, clock, "acme", WEB)
    assert (second.counts.read, second.counts.created) == (1, 1)

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "acme", WEB)
    assert quiet.status is AuditStatus.COMPLETED and quiet.message == Messages.NO_NEW_OBJECTS
    assert (quiet.counts.read, quiet.counts.created) == (1, 0)  # `late`, within the overlap
    assert len(_rows(dv)) == 4 and row_id("acme", late.id) in _rows(dv)


def test_a_redelivered_message_changes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, dv: DataverseState, dd: DotdigitalState,
    clock: ManualClock,
) -> None:  # fmt: skip
    _view(dd, "eve@example.com", "https://example.com/", _ago(clock, hours=1))
    admin.set_schedule(sync_runtime, "acme", WEB, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", WEB).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    written = _rows(dv)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert _rows(dv) == written and len(written) == 1
    [audit] = sync_runtime.audit.recent("acme", sync_type=WEB)
    assert audit.counts.created == 1
    assert dd.counters.count("GET", PAGE_VIEWS_SINCE) == 1


def test_a_run_killed_after_writing_a_page_and_redelivered_ends_like_an_uninterrupted_one(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(WebInsight(page_size=10))
    views = []
    for n in range(30):
        email = f"k{n % 7}@example.com"
        views.append(_view(dd, email, f"https://example.com/{n}", _ago(clock, hours=1) + n, n))
    for n in range(7):
        _record(dv, "contact", f"k{n}@example.com")
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    # The run's plan, then each page's intent and its end: page 2 is written, never saved.
    die_at_save(monkeypatch, sync_runtime, 5)
    assert run_until_killed(sync_runtime, host, clock, "acme", WEB), "the worker never died"

    audit = finish_after_lease(sync_runtime, host, clock, "acme", WEB)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    rows = _rows(dv)
    assert set(rows) == {row_id("acme", v.id) for v in views}
    assert all(row["_dms_contactid_value"] for row in rows.values())
    # The replayed page found its own rows there and counts them as created, not "already".
    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (30, 30, 0)
    assert audit.message == "30 page views read: 30 recorded"


def test_a_dry_run_names_the_rows_it_would_create_and_writes_none(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, dv: DataverseState,
    dd: DotdigitalState, clock: ManualClock,
) -> None:  # fmt: skip
    _view(dd, "fay@example.com", "https://example.com/", _ago(clock, hours=1))

    assert admin.sync_now(sync_runtime, "acme", WEB, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=WEB)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert _rows(dv) == {}
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) is None
    assert _details(sync_runtime, audit)["Would PATCH dms_webpageviews (Dynamics)"].counts.read == 1


def test_a_view_dynamics_refuses_is_counted_named_and_read_again_next_run(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    gone = _view(dd, "gil@example.com", "https://example.com/a", _ago(clock, hours=2))
    kept = _view(dd, "hana@example.com", "https://example.com/b", _ago(clock, hours=2))
    contact = _record(dv, "contact", "gil@example.com")
    real = _ViewWriter.decide

    def decide_then_delete(self: _ViewWriter, views: Any) -> Any:
        decision = real(self, views)
        if dv.row("contact", contact) is not None:  # deleted by a CRM user just after the lookup
            dv.delete("contact", contact)
        return decision

    monkeypatch.setattr(_ViewWriter, "decide", decide_then_delete)
    audit = run_scheduled(sync_runtime, host, clock, "acme", WEB)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    assert (audit.counts.created, audit.counts.failed) == (1, 1)
    assert set(_rows(dv)) == {row_id("acme", kept.id)}
    failed = _details(sync_runtime, audit)["Page views that failed"]
    assert failed.message.startswith("gil@example.com: ")

    clock.advance(minutes=5)  # the watermark stayed before the refused view: it is read again
    again = run_scheduled(sync_runtime, host, clock, "acme", WEB)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert set(_rows(dv)) == {row_id("acme", v.id) for v in (gone, kept)}
    assert _rows(dv)[row_id("acme", gone.id)]["_dms_contactid_value"] is None


def test_throttled_reads_are_waited_out_and_end_as_an_undisturbed_run(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, sandbox_clock: SandboxClock,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(WebInsight(page_size=10))
    views = [
        _view(dd, f"t{n % 4}@example.com", f"https://example.com/{n}", _ago(clock, hours=1) + n)
        for n in range(25)
    ]
    dd.faults.set_throttle(0.4, seconds=3)  # 429 with x-ratelimit-reset 3 s ahead

    audit = run_scheduled(sync_runtime, host, clock, "acme", WEB)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert set(_rows(dv)) == {row_id("acme", v.id) for v in views}
    assert (audit.counts.read, audit.counts.created) == (25, 25)
    assert dd.counters.count("GET", PAGE_VIEWS_SINCE, status=429) >= 1
    assert sandbox_clock.sleeps  # waited (on the sandboxes' clock), not failed
