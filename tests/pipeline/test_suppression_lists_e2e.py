"""SuppressionLists through the pipeline (timer -> Azurite queue -> worker) against both
sandboxes: platform suppressions into Dynamics, CRM suppression rows into the platform,
resubscribes requested from Dynamics and resubscriptions seen in the platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.app import BATCH_TEMPLATE
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_resubscribe import RESUBSCRIBE, SUPPRESS_CONTACTS
from sandbox.dotdigital.api_suppressions import SUPPRESSED_SINCE
from sandbox.dotdigital.contacts import ContactRecord
from sandbox.dotdigital.resubscribe import unsuppress
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import EmailAccount
from shared.audit import AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.suppressions.sync_type import SuppressionLists
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import run_scheduled
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

SUPPRESSIONS = SyncType.SUPPRESSION_LISTS
ROWS = "dms_emailsuppression"
PLATFORM, DYNAMICS = 1, 2
ADDED, CHALLENGED, CANNOT = 1, 2, 3


# Sandbox data -----------------------------------------------------------------------------------


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture(autouse=True)
def same_time(clock: ManualClock, sandbox_clock: SandboxClock) -> None:
    """The connector's clock starts where the sandboxes' is (their rows and its watermarks)."""
    clock.now = datetime.fromtimestamp(sandbox_clock.now(), UTC)


def _catch_up(clock: ManualClock, sandbox_clock: SandboxClock) -> None:
    """Move the sandboxes' clock to the connector's (after a run moved it on)."""
    sandbox_clock.advance(max(clock.now.timestamp() - sandbox_clock.now(), 0) + 1)


def _person(dv: DataverseState, table: str, email: str, **values: Any) -> str:
    row = {"emailaddress1": email, "lastname": email.split("@")[0], **values}
    return dv.insert(table, row)


def _platform_contact(dd: DotdigitalState, email: str, status: str = "Subscribed") -> ContactRecord:
    with dd.lock:
        contact = dd.store.by_email(email) or dd.store.add_contact(email, when=dd.now())
        if status != "Subscribed":
            dd.store.suppress(contact, status, dd.now())
        return contact


def _crm_row(dv: DataverseState, email: str, **values: Any) -> str:
    return dv.insert(ROWS, {"dms_email": email, **values})


def _rows(dv: DataverseState) -> list[dict[str, Any]]:
    table = dv.table(ROWS)
    found = [dv.row(ROWS, row_id) for row_id in list(table.rows)]
    return [row for row in found if row is not None]


def _notes(dv: DataverseState, record_id: str) -> list[dict[str, Any]]:
    table = dv.table("annotation")
    found = [dv.row("annotation", row_id) for row_id in list(table.rows)]
    return [n for n in found if n is not None and n.get("_objectid_value") == record_id]


def _flag(dv: DataverseState, table: str, record_id: str) -> bool | None:
    row = dv.row(table, record_id)
    assert row is not None
    return row["donotbulkemail"]  # type: ignore[no-any-return]


def _set(rt: Runtime, account: EmailAccount, **settings: bool) -> None:
    rt.accounts.save(account.model_copy(update=settings))


def _run(rt: Runtime, host: LocalHost, clock: ManualClock) -> AuditRecord:
    return run_scheduled(rt, host, clock, "acme", SUPPRESSIONS)


# Platform -> Dynamics ---------------------------------------------------------------------------


def test_platform_suppressions_reach_every_contact_and_lead_with_the_email(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    ada_contact = _person(dv, "contact", "Ada@Example.com")
    ada_lead = _person(dv, "lead", "ada@example.com")
    ben = _person(dv, "contact", "ben@example.org", donotbulkemail=True)
    untouched = _person(dv, "contact", "cleo@example.org")
    _platform_contact(dd, "ada@example.com", "HardBounced")
    _platform_contact(dd, "ben@example.org", "Unsubscribed")
    _platform_contact(dd, "nobody@example.net", "IspComplained")
    _platform_contact(dd, "cleo@example.org")
    batches_before = dv.counters.count("POST", BATCH_TEMPLATE)

    audit = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    rows = {(r["_dms_contactid_value"] or r["_dms_leadid_value"]): r for r in _rows(dv)}
    assert set(rows) == {ada_contact, ada_lead, ben}
    assert rows[ada_contact]["dms_reason"] == rows[ada_lead]["dms_reason"] == "HardBounced"
    assert rows[ben]["dms_reason"] == "Unsubscribed"
    for row in rows.values():
        assert row["dms_emailaccountid"] == "acme"
        assert row["dms_source"] == PLATFORM
        assert row["dms_suppressedon"]
    assert rows[ada_lead]["dms_email"] == "ada@example.com"
    assert _flag(dv, "contact", ada_contact) is True
    assert _flag(dv, "lead", ada_lead) is True
    assert _flag(dv, "contact", untouched) is not True
    # 3 suppressions read; 3 rows created; 2 records flagged (ben was flagged already).
    assert (audit.counts.read, audit.counts.created, audit.counts.updated) == (3, 3, 2)
    assert "3 suppression records created, 2 contacts/leads set Do not Bulk Email" in audit.message
    assert "1 emails not in Dynamics" in audit.message
    # One lookup $batch and one write $batch for the page (the other phases read nothing).
    assert dv.counters.count("POST", BATCH_TEMPLATE) - batches_before == 2


def test_a_second_run_creates_no_second_row(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _person(dv, "contact", "ada@example.com")
    _platform_contact(dd, "ada@example.com", "Unsubscribed")
    _run(sync_runtime, host, clock)

    # The watermark's skew margin (and the sandboxes' own clock) read the suppression again.
    again = _run(sync_runtime, host, clock)

    assert again.status is AuditStatus.COMPLETED, again.message
    assert again.message == Messages.NO_NEW_OBJECTS
    assert len(_rows(dv)) == 1


@pytest.mark.parametrize(("add_rows", "flag"), [(False, True), (True, False), (False, False)])
def test_either_setting_off_leaves_its_part_unwritten(
    add_rows: bool, flag: bool,
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _set(
        sync_runtime, acme,
        add_global_unsubscribers_to_crm_suppression_list=add_rows, update_do_not_bulk_email=flag,
    )  # fmt: skip
    ada = _person(dv, "contact", "ada@example.com")
    _platform_contact(dd, "ada@example.com", "Unsubscribed")

    audit = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert len(_rows(dv)) == (1 if add_rows else 0)
    assert bool(_flag(dv, "contact", ada)) is flag


# Dynamics -> platform ---------------------------------------------------------------------------


def test_rows_added_in_dynamics_become_platform_suppressions(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    known = _platform_contact(dd, "ada@example.com")
    other = _platform_contact(dd, "ben@example.org")
    foreign = _platform_contact(dd, "cleo@example.org")
    _crm_row(dv, "ADA@example.com", dms_source=DYNAMICS, dms_emailaccountid="acme")
    _crm_row(dv, "new@example.com")  # no source, no account: a CRM user's row for every account
    _crm_row(dv, "ben@example.org", dms_source=PLATFORM, dms_emailaccountid="acme")
    _crm_row(dv, "cleo@example.org", dms_source=DYNAMICS, dms_emailaccountid="another")
    rows_before = len(_rows(dv))

    audit = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert known.status == "Suppressed"
    added = dd.store.by_email("new@example.com")
    assert added is not None and added.status == "Unsubscribed"  # unknown: added unsubscribed
    assert other.status == foreign.status == "Subscribed"  # not a CRM user's row of this account
    assert "to the platform: 2 suppressed" in audit.message
    # Back from suppressed-since in the same run, they are not written a second time.
    assert len(_rows(dv)) == rows_before


def test_only_rows_added_since_the_last_run_are_sent_again(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    sandbox_clock: SandboxClock, dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _crm_row(dv, "ada@example.com", dms_source=DYNAMICS)
    clock.advance(minutes=10)  # the row is older than the first run by more than the margin
    _run(sync_runtime, host, clock)
    assert dd.counters.count("PUT", SUPPRESS_CONTACTS) == 1

    _catch_up(clock, sandbox_clock)
    quiet = _run(sync_runtime, host, clock)
    _catch_up(clock, sandbox_clock)
    _crm_row(dv, "ben@example.org", dms_source=DYNAMICS)
    later = _run(sync_runtime, host, clock)

    assert quiet.message == Messages.NO_NEW_OBJECTS
    assert dd.counters.count("PUT", SUPPRESS_CONTACTS) == 2
    assert "to the platform: 1 suppressed" in later.message


# Resubscribes -----------------------------------------------------------------------------------


def test_resubscribe_requests_record_each_outcome_on_the_row_and_in_one_note(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    sandbox_clock: SandboxClock, dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    people = {
        email: _person(dv, "contact", email, donotbulkemail=True)
        for email in ("ada@example.com", "ben@example.org", "cleo@example.org")
    }
    _platform_contact(dd, "ada@example.com", "Unsubscribed")
    _platform_contact(dd, "ben@example.org", "IspComplained")
    _platform_contact(dd, "cleo@example.org", "HardBounced")
    dd.store.global_suppressions.add("cleo@example.org")
    first = _run(sync_runtime, host, clock)
    assert first.counts.created == 3, first.message
    for row in _rows(dv):
        dv.update(ROWS, row[f"{ROWS}id"], {"dms_requestresubscribe": True})
    _catch_up(clock, sandbox_clock)

    audit = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    rows = {r["dms_email"]: r for r in _rows(dv)}
    assert {e: r["dms_resubscriptionstatus"] for e, r in rows.items()} == {
        "ada@example.com": CHALLENGED,
        "ben@example.org": CANNOT,
        "cleo@example.org": CANNOT,
    }
    assert not any(r["dms_requestresubscribe"] for r in rows.values())
    assert "ISP complaint" in rows["ben@example.org"]["dms_resubscriptiondetail"]
    assert "Global Suppression List" in rows["cleo@example.org"]["dms_resubscriptiondetail"]
    for email, record in people.items():
        [note] = _notes(dv, record)
        assert note["notetext"] == rows[email]["dms_resubscriptiondetail"]
    assert "confirmation email was sent" in _notes(dv, people["ada@example.com"])[0]["notetext"]
    assert dd.resubscriptions.confirmation_emails == ["ada@example.com"]
    assert "ContactCannotBeUnsuppressed 2, ContactChallenged 1" in audit.message

    # The contact confirms: the next run removes the row, clears the flag, adds the note.
    _catch_up(clock, sandbox_clock)
    dd.confirm_resubscription("ada@example.com")
    confirmed = _run(sync_runtime, host, clock)
    assert confirmed.counts.deleted == 1, confirmed.message
    assert "ada@example.com" not in {r["dms_email"] for r in _rows(dv)}
    assert _flag(dv, "contact", people["ada@example.com"]) is False
    texts = sorted(n["notetext"] for n in _notes(dv, people["ada@example.com"]))
    assert len(texts) == 2 and "was resubscribed on" in texts[1]
    assert "to email account Acme newsletters" in texts[1]
    # Nothing left to do: no second note, no second email.
    _catch_up(clock, sandbox_clock)
    _run(sync_runtime, host, clock)
    assert len(_notes(dv, people["ada@example.com"])) == 2
    assert dd.resubscriptions.confirmation_emails == ["ada@example.com"]
    assert dd.counters.count("POST", RESUBSCRIBE) == 3


def test_a_request_answered_contact_added_leaves_one_note_and_no_row(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    lead = _person(dv, "lead", "ada@example.com", donotbulkemail=True)
    _platform_contact(dd, "ada@example.com")  # subscribed again already in the platform
    _crm_row(
        dv, "ada@example.com", dms_source=PLATFORM, dms_emailaccountid="acme",
        dms_requestresubscribe=True, **{"dms_leadid@odata.bind": f"/leads({lead})"},
    )  # fmt: skip
    clock.advance(minutes=1)

    audit = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert _rows(dv) == []  # subscribed in the platform: the suppression is gone
    [note] = _notes(dv, lead)  # the request's answer and the resubscription are one note
    assert "was resubscribed on" in note["notetext"]
    assert _flag(dv, "lead", lead) is False


def test_a_contact_resubscribed_in_the_platform_loses_its_row_once(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    sandbox_clock: SandboxClock, dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    ada = _person(dv, "contact", "ada@example.com")
    contact = _platform_contact(dd, "ada@example.com", "Unsubscribed")
    _run(sync_runtime, host, clock)
    assert len(_rows(dv)) == 1 and _flag(dv, "contact", ada) is True
    _catch_up(clock, sandbox_clock)
    with dd.lock:  # the contact resubscribes through a signup form
        unsuppress(dd.store, contact, dd.now())

    audit = _run(sync_runtime, host, clock)
    _catch_up(clock, sandbox_clock)
    again = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert _rows(dv) == []
    assert _flag(dv, "contact", ada) is False
    assert (audit.counts.deleted, audit.counts.updated) == (1, 1)
    assert "1 suppression records removed, 1 Do not Bulk Email cleared" in audit.message
    [note] = _notes(dv, ada)
    assert note["subject"] == "Resubscribed to email"
    assert again.message == Messages.NO_NEW_OBJECTS
    assert len(_notes(dv, ada)) == 1


# Failures, kills, redelivery, dry runs ----------------------------------------------------------


def test_a_record_dataverse_refuses_is_skipped_counted_and_named(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _person(dv, "contact", "ada@example.com")
    _person(dv, "contact", "ben@example.org")
    _platform_contact(dd, "ada@example.com", "Unsubscribed")
    _platform_contact(dd, "ben@example.org", "A" * 120)  # a reason longer than the column

    audit = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    assert [r["dms_email"] for r in _rows(dv)] == ["ada@example.com"]
    assert audit.counts.failed == 1
    [detail] = sync_runtime.audit.details("acme", audit.row_key)
    assert detail.item == "ben@example.org" and detail.status is AuditStatus.FAILED


def test_a_row_the_platform_refuses_is_skipped_counted_and_named(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _platform_contact(dd, "ada@example.com", "Unsubscribed")
    _crm_row(dv, "not an email", dms_source=DYNAMICS)  # typed by hand: Dotdigital refuses it
    _crm_row(dv, "ben@example.org", dms_source=DYNAMICS)
    _crm_row(dv, "also not an email", dms_requestresubscribe=True, dms_source=PLATFORM)
    _crm_row(dv, "ada@example.com", dms_requestresubscribe=True, dms_source=PLATFORM)

    audit = _run(sync_runtime, host, clock)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    assert audit.counts.failed == 2
    ben = dd.store.by_email("ben@example.org")
    assert ben is not None and ben.status == "Unsubscribed"  # the rest of the page went out
    assert dd.resubscriptions.confirmation_emails == ["ada@example.com"]
    failed = {d.item: d for d in sync_runtime.audit.details("acme", audit.row_key)}
    assert set(failed) == {"not an email", "also not an email"}
    assert "ERROR_CONTACT_INVALID" in failed["not an email"].message


@pytest.mark.parametrize("die_at", [2, 4])  # 2: in the resubscribe requests; 4: in the pull
def test_a_run_killed_after_its_writes_and_redelivered_writes_no_second_row_or_note(
    die_at: int,
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(SuppressionLists(page_size=10))
    emails = [f"guest{n:02d}@example.com" for n in range(25)]
    people = {email: _person(dv, "contact", email) for email in emails}
    for email in emails:
        _platform_contact(dd, email, "Unsubscribed")
    requested = emails[:12]  # rows a CRM user asks to resubscribe (two pages of requests)
    for email in requested:
        _crm_row(
            dv, email, dms_source=PLATFORM, dms_emailaccountid="acme", dms_requestresubscribe=True,
            **{"dms_contactid@odata.bind": f"/contacts({people[email]})"},
        )  # fmt: skip
    # Slices of one page each: push (no rows) | requests page 1 | requests page 2 | pull ...
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    die_at_save(monkeypatch, sync_runtime, die_at)
    assert run_until_killed(sync_runtime, host, clock, "acme", SUPPRESSIONS), "it never died"

    audit = finish_after_lease(sync_runtime, host, clock, "acme", SUPPRESSIONS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    rows = _rows(dv)
    by_email: dict[str, int] = {}
    for row in rows:
        by_email[row["dms_email"]] = by_email.get(row["dms_email"], 0) + 1
    assert by_email == dict.fromkeys(emails, 1)  # one row each, none twice
    for email in requested:
        assert len(_notes(dv, people[email])) == 1
    for email in emails[12:]:
        assert _notes(dv, people[email]) == []
    assert sorted(dd.resubscriptions.confirmation_emails) == requested  # one email each
    assert audit.counts.created == len(emails) - len(requested)


def test_the_same_message_delivered_twice_runs_once(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    _person(dv, "contact", "ada@example.com")
    _platform_contact(dd, "ada@example.com", "Unsubscribed")
    assert admin.sync_now(sync_runtime, "acme", SUPPRESSIONS).accepted
    queue = sync_runtime.queue
    assert isinstance(queue, StorageQueueAdapter)
    [delivery] = queue.receive(max_messages=1, visibility=timedelta(seconds=30))
    queue.complete(delivery)

    first = Worker(sync_runtime).handle(delivery.body)
    second = Worker(sync_runtime).handle(delivery.body)

    assert (first, second) == (Outcome.FINISHED, Outcome.NOT_CURRENT)
    assert len(_rows(dv)) == 1
    assert dd.counters.count("GET", SUPPRESSED_SINCE) == 1


def test_a_dry_run_writes_nothing_on_either_side(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    ada = _person(dv, "contact", "ada@example.com")
    _platform_contact(dd, "ada@example.com", "Unsubscribed")
    ben = _platform_contact(dd, "ben@example.org")
    _crm_row(dv, "ben@example.org", dms_source=DYNAMICS, dms_emailaccountid="acme")
    rows_before = len(_rows(dv))

    assert admin.sync_now(sync_runtime, "acme", SUPPRESSIONS, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=SUPPRESSIONS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert len(_rows(dv)) == rows_before
    assert not _flag(dv, "contact", ada)
    assert ben.status == "Subscribed"
    would = {d.item for d in sync_runtime.audit.details("acme", audit.row_key)}
    assert "Would suppress contacts (Dotdigital)" in would
