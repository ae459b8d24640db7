"""ContactOptIn through the pipeline (timer -> Azurite queue -> worker) against both sandboxes:
platform opt-in types reach contacts, leads and accounts with the same email, only rising."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_contacts import CONTACTS
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.contact_opt_in import WATERMARK_KEY, ContactOptIn
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.conftest import PASSWORD_SETTING
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

OPT_IN = SyncType.CONTACT_OPT_IN
UNKNOWN, SINGLE, DOUBLE, VERIFIED = 1, 2, 3, 4


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


def _platform(dd: DotdigitalState, email: str, opt_in: str, when: float) -> None:
    """A Dotdigital contact with this opt-in type, changed at `when` (created if new)."""
    with dd.lock:
        contact = dd.store.by_email(email) or dd.store.add_contact(email, when=when)
        contact.opt_in_type = opt_in
        contact.updated = when


def _record(dv: DataverseState, table: str, email: str, value: int | None = None) -> str:
    values: dict[str, Any] = {"emailaddress1": email, "dms_optintype": value}
    values["name" if table == "account" else "lastname"] = email.split("@")[0]
    return dv.insert(table, values)


def _value(dv: DataverseState, table: str, record_id: str) -> Any:
    row = dv.row(table, record_id)
    assert row is not None
    return row["dms_optintype"]


def _ago(clock: ManualClock, **delta: float) -> float:
    return (clock.now - timedelta(**delta)).timestamp()


def _details(rt: Runtime, audit: AuditRecord, account: str = "acme") -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details(account, audit.row_key)}


def test_opt_in_types_reach_every_contact_lead_and_account_with_the_email(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _platform(dd, "ada@example.com", "VerifiedDouble", _ago(clock, hours=1))
    _platform(dd, "ben@example.com", "Single", _ago(clock, hours=1))
    _platform(dd, "cy@example.com", "Double", _ago(clock, hours=1))  # no CRM record
    contact = _record(dv, "contact", "Ada@Example.com")
    lead = _record(dv, "lead", "ada@example.com", SINGLE)
    account = _record(dv, "account", "ADA@EXAMPLE.COM", UNKNOWN)
    ben = _record(dv, "contact", "ben@example.com", DOUBLE)
    ben_before = dv.row("contact", ben)

    audit = run_scheduled(sync_runtime, host, clock, "acme", OPT_IN)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert [_value(dv, t, r) for t, r in (("contact", contact), ("lead", lead),
                                           ("account", account))] == [VERIFIED] * 3  # fmt: skip
    assert dv.row("contact", ben) == ben_before  # Double is not lowered to Single, not rewritten
    assert (audit.counts.read, audit.counts.updated, audit.counts.failed) == (3, 3, 0)
    assert audit.message == "3 platform contacts read: 3 opt-in types raised"
    details = _details(sync_runtime, audit)
    assert {item: d.counts.updated for item, d in details.items()} == {
        "contact": 1, "lead": 1, "account": 1,
    }  # fmt: skip
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) == clock.now.isoformat()


def test_later_runs_read_only_what_changed_and_nothing_new_says_so(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    for n in range(5):
        _platform(dd, f"p{n}@example.com", "Single", _ago(clock, hours=1))
        _record(dv, "contact", f"p{n}@example.com")
    first = run_scheduled(sync_runtime, host, clock, "acme", OPT_IN)
    assert first.counts.updated == 5

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "acme", OPT_IN)
    assert quiet.status is AuditStatus.COMPLETED and quiet.message == Messages.NO_NEW_OBJECTS
    assert quiet.counts.read == 0

    clock.advance(minutes=5)
    _platform(dd, "p3@example.com", "Double", _ago(clock, minutes=2))
    later = run_scheduled(sync_runtime, host, clock, "acme", OPT_IN)
    assert (later.counts.read, later.counts.updated) == (1, 1)
    reads = dd.counters.count("GET", CONTACTS)
    assert reads == 3  # one page a run


def test_a_second_accounts_lower_type_never_lowers_the_first_accounts(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    globex = EmailAccount(account_id="globex", name="Globex", api_user=acme.api_user,
                          api_password_secret_name=PASSWORD_SETTING)  # fmt: skip
    sync_runtime.accounts.save(globex)
    contact = _record(dv, "contact", "dee@example.com")
    _platform(dd, "dee@example.com", "VerifiedDouble", _ago(clock, hours=1))
    run_scheduled(sync_runtime, host, clock, "acme", OPT_IN)
    assert _value(dv, "contact", contact) == VERIFIED

    # What the second account's platform says of the same email: Unknown.
    _platform(dd, "dee@example.com", "Unknown", _ago(clock, minutes=30))
    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", OPT_IN)

    assert audit.status is AuditStatus.COMPLETED and audit.message == Messages.NO_NEW_OBJECTS
    assert audit.counts.read == 1 and _value(dv, "contact", contact) == VERIFIED


def test_a_redelivered_message_changes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, dv: DataverseState, dd: DotdigitalState,
    clock: ManualClock,
) -> None:  # fmt: skip
    contact = _record(dv, "contact", "eve@example.com", UNKNOWN)
    _platform(dd, "eve@example.com", "Double", _ago(clock, hours=1))
    admin.set_schedule(sync_runtime, "acme", OPT_IN, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", OPT_IN).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    written = dv.row("contact", contact)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert dv.row("contact", contact) == written and _value(dv, "contact", contact) == DOUBLE
    [audit] = sync_runtime.audit.recent("acme", sync_type=OPT_IN)
    assert audit.counts.updated == 1


def test_a_run_killed_after_writing_a_page_and_redelivered_ends_like_an_uninterrupted_one(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(ContactOptIn(page_size=10))
    types = ["Unknown", "Single", "Double", "VerifiedDouble"]
    records = {}
    for n in range(30):
        email = f"k{n:02d}@example.com"
        _platform(dd, email, types[n % 4], _ago(clock, hours=1))
        records[email] = (_record(dv, "lead", email), n % 4 + 1)
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    # The run's plan, then each page's intent and its end: page 2 is written, never saved.
    die_at_save(monkeypatch, sync_runtime, 5)
    assert run_until_killed(sync_runtime, host, clock, "acme", OPT_IN), "the worker never died"

    audit = finish_after_lease(sync_runtime, host, clock, "acme", OPT_IN)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    for email, (lead, expected) in records.items():
        assert _value(dv, "lead", lead) == expected, email
    # The replayed page found its own writes there and counts them once, as its own (not as
    # unchanged): the counts of a run nobody killed.
    assert audit.counts.read == 30 and audit.counts.updated == 30 and audit.counts.failed == 0


def test_a_dry_run_names_the_records_it_would_raise_and_writes_none(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    contact = _record(dv, "contact", "fay@example.com", SINGLE)
    _platform(dd, "fay@example.com", "VerifiedDouble", _ago(clock, hours=1))

    assert admin.sync_now(sync_runtime, "acme", OPT_IN, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=OPT_IN)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert _value(dv, "contact", contact) == SINGLE
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) is None
    assert _details(sync_runtime, audit)["Would PATCH contacts (Dynamics)"].counts.read == 1
