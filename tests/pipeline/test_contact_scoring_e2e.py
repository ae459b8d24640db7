"""ContactScoring through the pipeline (timer -> Azurite queue -> worker) against both
sandboxes: platform scores reach the score columns of every contact and lead with the email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_scoring import SCORES_MODIFIED_SINCE
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import iso
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.clients.dotdigital.client import DotdigitalClient
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.contact_scoring import WATERMARK_KEY, ContactScoring
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.conftest import PASSWORD_SETTING
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

SCORING = SyncType.CONTACT_SCORING
COLUMNS = ("dms_score", "dms_scorelabel", "dms_scoreengagement", "dms_scoresuitability",
           "dms_scoremodifiedon")  # fmt: skip


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


def _score(dd: DotdigitalState, email: str, score: int, when: float, **extra: Any) -> None:
    """The platform's score of the contact with this email, recomputed at `when`."""
    with dd.lock:
        contact = dd.store.by_email(email) or dd.store.add_contact(email, when=when)
        dd.scoring.set(contact, score, when=when, **extra)


def _record(dv: DataverseState, table: str, email: str, **values: Any) -> str:
    return dv.insert(table, {"emailaddress1": email, "lastname": email.split("@")[0], **values})


def _scored(dv: DataverseState, table: str, record_id: str) -> tuple[Any, ...]:
    row = dv.row(table, record_id)
    assert row is not None
    return tuple(row[column] for column in COLUMNS)


def _ago(clock: ManualClock, **delta: float) -> float:
    return (clock.now - timedelta(**delta)).timestamp()


def _details(rt: Runtime, audit: AuditRecord, account: str = "acme") -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details(account, audit.row_key)}


def test_scores_reach_every_contact_and_lead_with_the_email(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    when = _ago(clock, hours=1)
    _score(dd, "ada@example.com", 81, when, label="Hot", engagement=60, suitability=40)
    _score(dd, "ben@example.com", 12, when, label="Cold", engagement=5, suitability=9)
    _score(dd, "cy@example.com", 50, when)  # no CRM record
    contact = _record(dv, "contact", "Ada@Example.com")
    lead = _record(dv, "lead", "ada@example.com", dms_score=3)
    ben = _record(dv, "contact", "ben@example.com", dms_score=12, dms_scorelabel="Cold",
                  dms_scoreengagement=5, dms_scoresuitability=9,
                  dms_scoremodifiedon=iso(when))  # fmt: skip
    ben_before = dv.row("contact", ben)
    other = _record(dv, "contact", "dee@example.com")

    audit = run_scheduled(sync_runtime, host, clock, "acme", SCORING)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    expected = (81, "Hot", 60, 40, iso(when))
    assert _scored(dv, "contact", contact) == expected
    assert _scored(dv, "lead", lead) == expected
    assert dv.row("contact", ben) == ben_before  # holds this score already: not rewritten
    assert _scored(dv, "contact", other) == (None,) * 5
    assert (audit.counts.read, audit.counts.updated, audit.counts.failed) == (3, 2, 0)
    assert audit.message == "3 platform scores read: 2 contacts and leads scored"
    details = _details(sync_runtime, audit)
    assert {item: d.counts.updated for item, d in details.items()} == {"contact": 1, "lead": 1}
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) == clock.now.isoformat()


def test_later_runs_read_what_changed_and_a_later_score_wins_across_accounts(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    contact = _record(dv, "contact", "eve@example.com")
    _score(dd, "eve@example.com", 70, _ago(clock, hours=1))
    assert run_scheduled(sync_runtime, host, clock, "acme", SCORING).counts.updated == 1

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "acme", SCORING)
    assert quiet.status is AuditStatus.COMPLETED and quiet.message == Messages.NO_NEW_OBJECTS

    # A second account whose platform scored the same email earlier: its older score loses.
    globex = EmailAccount(account_id="globex", name="Globex", api_user=acme.api_user,
                          api_password_secret_name=PASSWORD_SETTING)  # fmt: skip
    sync_runtime.accounts.save(globex)
    _score(dd, "eve@example.com", 20, _ago(clock, hours=2))
    older = run_scheduled(sync_runtime, host, clock, "globex", SCORING)
    assert older.message == Messages.NO_NEW_OBJECTS and older.counts.read == 1
    assert _scored(dv, "contact", contact)[0] == 70

    clock.advance(minutes=5)
    _score(dd, "eve@example.com", 95, _ago(clock, minutes=2))
    later = run_scheduled(sync_runtime, host, clock, "acme", SCORING)
    assert (later.counts.read, later.counts.updated) == (1, 1)
    assert _scored(dv, "contact", contact)[0] == 95


def test_scoring_not_activated_fails_the_run_with_the_products_message(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    contact = _record(dv, "contact", "fay@example.com")
    _score(dd, "fay@example.com", 40, _ago(clock, hours=1))
    dd.scoring.enabled = False

    audit = run_scheduled(sync_runtime, host, clock, "acme", SCORING)

    assert audit.status is AuditStatus.FAILED
    assert audit.message == "Feature is not activated in Dotdigital"
    assert _scored(dv, "contact", contact)[0] is None
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) is None  # read again next time

    dd.scoring.enabled = True  # activated in Dotdigital: the next run catches up
    clock.advance(minutes=5)
    assert run_scheduled(sync_runtime, host, clock, "acme", SCORING).counts.updated == 1
    assert _scored(dv, "contact", contact)[0] == 40


def test_a_score_changed_during_the_run_moves_to_the_end_and_none_is_passed_over(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(ContactScoring(page_size=10))
    records = {}
    for n in range(25):
        email = f"s{n:02d}@example.com"
        _score(dd, email, n, _ago(clock, hours=2, minutes=-n))
        records[email] = _record(dv, "lead", email)
    real = DotdigitalClient.contact_scores_modified_since
    calls = 0

    def read_then_rescore(self: DotdigitalClient, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        page = real(self, *args, **kwargs)
        calls += 1
        if calls == 1:  # s03 is rescored after the first page was read: it moves to the end
            _score(dd, "s03@example.com", 99, _ago(clock, minutes=1))
        return page

    monkeypatch.setattr(DotdigitalClient, "contact_scores_modified_since", read_then_rescore)
    audit = run_scheduled(sync_runtime, host, clock, "acme", SCORING)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    scores = {email: _scored(dv, "lead", lead)[0] for email, lead in records.items()}
    assert scores == {f"s{n:02d}@example.com": (99 if n == 3 else n) for n in range(25)}


def test_a_redelivered_message_changes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, dv: DataverseState, dd: DotdigitalState,
    clock: ManualClock,
) -> None:  # fmt: skip
    contact = _record(dv, "contact", "gus@example.com")
    _score(dd, "gus@example.com", 33, _ago(clock, hours=1))
    admin.set_schedule(sync_runtime, "acme", SCORING, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", SCORING).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    written = dv.row("contact", contact)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert dv.row("contact", contact) == written and _scored(dv, "contact", contact)[0] == 33
    [audit] = sync_runtime.audit.recent("acme", sync_type=SCORING)
    assert audit.counts.updated == 1
    assert dd.counters.count("GET", SCORES_MODIFIED_SINCE) == 1


def test_a_run_killed_after_writing_a_page_and_redelivered_ends_like_an_uninterrupted_one(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(ContactScoring(page_size=10))
    records = {}
    for n in range(30):
        email = f"k{n:02d}@example.com"
        _score(dd, email, n + 1, _ago(clock, hours=1, minutes=-n), label=f"L{n}")
        records[email] = (_record(dv, "contact", email), n + 1)
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    # The run's plan, then each page's intent and its end: page 2 is written, never saved.
    die_at_save(monkeypatch, sync_runtime, 5)
    assert run_until_killed(sync_runtime, host, clock, "acme", SCORING), "the worker never died"

    audit = finish_after_lease(sync_runtime, host, clock, "acme", SCORING)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    for email, (contact, expected) in records.items():
        assert _scored(dv, "contact", contact)[0] == expected, email
    # The replayed page found its own writes there and counts them once, as its own.
    assert (audit.counts.read, audit.counts.updated, audit.counts.failed) == (30, 30, 0)
    assert audit.message == "30 platform scores read: 30 contacts and leads scored"


def test_a_dry_run_names_the_records_it_would_score_and_writes_none(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, dv: DataverseState,
    dd: DotdigitalState, clock: ManualClock,
) -> None:  # fmt: skip
    contact = _record(dv, "contact", "hal@example.com")
    _score(dd, "hal@example.com", 64, _ago(clock, hours=1))

    assert admin.sync_now(sync_runtime, "acme", SCORING, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=SCORING)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert _scored(dv, "contact", contact)[0] is None
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) is None
    assert _details(sync_runtime, audit)["Would PATCH contacts (Dynamics)"].counts.read == 1


def test_throttled_reads_are_waited_out_and_end_as_an_undisturbed_run(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, sandbox_clock: SandboxClock,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(ContactScoring(page_size=10))
    records = {}
    for n in range(25):
        email = f"t{n:02d}@example.com"
        _score(dd, email, n, _ago(clock, hours=1, minutes=-n))
        records[email] = _record(dv, "lead", email)
    dd.faults.set_throttle(0.4, seconds=3)  # 429 with x-ratelimit-reset 3 s ahead

    audit = run_scheduled(sync_runtime, host, clock, "acme", SCORING)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert {e: _scored(dv, "lead", lead)[0] for e, lead in records.items()} == {
        f"t{n:02d}@example.com": n for n in range(25)
    }
    assert (audit.counts.read, audit.counts.updated) == (25, 25)
    assert dd.counters.count("GET", SCORES_MODIFIED_SINCE, status=429) >= 1
    assert sandbox_clock.sleeps  # waited (on the sandboxes' clock), not failed
