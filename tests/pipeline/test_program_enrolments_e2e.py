"""ProgramEnrolments through the pipeline (timer -> Azurite queue -> worker) against both
sandboxes: Program Enrolment rows a CRM user created become enrolments, people new to the
platform are created first, refusals say what to do, the hour's 20 calls are kept, and no
redelivery, kill or lost answer enrols anyone twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.dataverse.state import DataverseState
from sandbox.dataverse.systemusers import SALES_USER_ID
from sandbox.dataverse.webhooks import CRM_USER_ID
from sandbox.dotdigital.api_programs import ENROLMENTS
from sandbox.dotdigital.programs import ProgramRecord
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import EmailAccount
from shared.audit import AuditStatus, Messages
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.programs import ProgramEnrolment
from shared.errors import OutcomeUnknown
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.service import programs
from shared.sync.programs.sync_type import CALLS_KEY
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import Killed, finish_after_lease, run_until_killed

ENROL = SyncType.PROGRAM_ENROLMENTS
ROWS = "dms_programenrolment"
REQUESTED, ENROLLING, ENROLLED, REFUSED = 1, 2, 3, 4


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def welcome(sync_runtime: Runtime, acme: EmailAccount, dd: DotdigitalState) -> ProgramRecord:
    """An active program the administrator allowed."""
    program = dd.add_program("Welcome journey")
    programs.allow_program(sync_runtime, "acme", program.id)
    return program


def _person(dv: DataverseState, email: str, table: str = "contact") -> str:
    return dv.insert(table, {"emailaddress1": email, "lastname": email.split("@")[0]})


def _request(dv: DataverseState, program: ProgramRecord, person: str, table: str = "contact",
             *, by: str = CRM_USER_ID) -> str:  # fmt: skip
    """A Program Enrolment row as the CRM user `by` creates it from the contact or lead."""
    values: dict[str, Any] = {
        "dms_name": f"Enrol in {program.name}",
        "dms_programid": program.id,
        "dms_programname": program.name,
        "dms_emailaccountid": "acme",
        "dms_status": REQUESTED,
        f"dms_{table}id@odata.bind": f"/{table}s({person})",
    }
    dv.acting_user = by
    try:
        return dv.insert(ROWS, values)
    finally:
        dv.acting_user = CRM_USER_ID


def _row(dv: DataverseState, row_id: str) -> dict[str, Any]:
    row = dv.row(ROWS, row_id)
    assert row is not None
    return row


def _on_platform(dd: DotdigitalState, email: str) -> int:
    with dd.lock:
        return dd.store.add_contact(email, when=dd.now()).id


def test_requests_become_one_enrolment_and_new_people_are_created_in_the_platform_first(
    sync_runtime: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseState,
    dd: DotdigitalState, welcome: ProgramRecord,
) -> None:  # fmt: skip
    known = _on_platform(dd, "ada@example.com")
    ada = _request(dv, welcome, _person(dv, "ada@example.com"))
    ben = _request(dv, welcome, _person(dv, "ben@example.com", "lead"), "lead")

    audit = run_scheduled(sync_runtime, host, clock, "acme", ENROL)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.message == "Program enrolment requests: 2 enrolled"
    new = dd.store.by_email("ben@example.com")
    assert new is not None  # created (in "All contacts") before its enrolment
    [enrolment] = dd.enrolments.values()
    assert (enrolment.program_id, sorted(enrolment.contacts)) == (
        welcome.id,
        sorted([known, new.id]),
    )
    for row_id in (ada, ben):
        row = _row(dv, row_id)
        assert row["dms_status"] == ENROLLED and row["dms_platformenrolmentid"] == enrolment.id
        assert row["dms_enrolledon"] is not None and row["dms_message"] is None

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "acme", ENROL)
    assert quiet.message == Messages.NO_NEW_OBJECTS and len(dd.enrolments) == 1


def test_inactive_not_allowed_and_unmapped_requests_are_refused_saying_what_to_do(
    sync_runtime: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseState,
    dd: DotdigitalState, welcome: ProgramRecord,
) -> None:  # fmt: skip
    retired = dd.add_program("Retired journey")
    programs.allow_program(sync_runtime, "acme", retired.id)
    retired.status = "Deactivated"  # deactivated in the platform after it was allowed
    other = dd.add_program("Never allowed")
    programs.set_mapped_users_only(sync_runtime, "acme", True)
    programs.map_user(sync_runtime, "acme", 701, SALES_USER_ID)
    person = _person(dv, "cy@example.com")
    inactive = _request(dv, retired, person, by=SALES_USER_ID)
    not_allowed = _request(dv, other, person, by=SALES_USER_ID)
    unmapped = _request(dv, welcome, person)  # created by CRM_USER_ID, mapped to no one
    mapped = _request(dv, welcome, person, by=SALES_USER_ID)

    audit = run_scheduled(sync_runtime, host, clock, "acme", ENROL)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    assert audit.message == "Program enrolment requests: 1 enrolled, 3 refused"
    assert _row(dv, mapped)["dms_status"] == ENROLLED
    assert [_row(dv, r)["dms_status"] for r in (inactive, not_allowed, unmapped)] == [REFUSED] * 3
    assert _row(dv, inactive)["dms_message"] == (
        f"The program 'Retired journey' ({retired.id}) is Deactivated in Dotdigital: activate "
        "it there or choose an active program, then create the enrolment again."
    )
    assert f"`programs allow acme {other.id}`" in _row(dv, not_allowed)["dms_message"]
    assert _row(dv, unmapped)["dms_message"].startswith(
        "Only mapped users may enrol contacts and leads in programs of 'acme'"
    )
    [enrolment] = dd.enrolments.values()
    assert enrolment.program_id == welcome.id


def test_bulk_requests_go_25_a_call_and_wait_for_the_next_hour_when_its_calls_are_spent(
    sync_runtime: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseState,
    dd: DotdigitalState, welcome: ProgramRecord,
) -> None:  # fmt: skip
    rows = []
    for n in range(60):
        email = f"bulk{n:02d}@example.com"
        _on_platform(dd, email)
        rows.append(_request(dv, welcome, _person(dv, email)))
    # 18 of the hour's 20 calls were made by an earlier run 58 minutes ago: two are left.
    admin.set_schedule(sync_runtime, "acme", ENROL, EVERY_5)
    due = sync_runtime.schedules.get("acme", ENROL).next_sync
    assert due is not None
    spent = [(due - timedelta(minutes=58)).isoformat()] * 18
    sync_runtime.state.set_value("acme", CALLS_KEY, spent, clock.now)

    first = run_scheduled(sync_runtime, host, clock, "acme", ENROL)

    assert first.message == "Program enrolment requests: 50 enrolled, 10 waiting", first.message
    assert [len(e.contacts) for e in dd.enrolments.values()] == [25, 25]
    waiting = [r for r in rows if _row(dv, r)["dms_status"] == REQUESTED]
    assert len(waiting) == 10
    assert "takes 20 enrolment calls an hour" in _row(dv, waiting[0])["dms_message"]

    # Five minutes later the earlier run's calls are over an hour old.
    second = run_scheduled(sync_runtime, host, clock, "acme", ENROL)

    assert second.message == "Program enrolment requests: 10 enrolled", second.message
    assert all(_row(dv, r)["dms_status"] == ENROLLED for r in rows)
    assert dd.counters.count("POST", ENROLMENTS) == 3  # never over the limit: no 429 to retry


def test_a_redelivered_message_enrols_nobody_twice(
    sync_runtime: Runtime, dv: DataverseState, dd: DotdigitalState, welcome: ProgramRecord
) -> None:
    _on_platform(dd, "dee@example.com")
    row = _request(dv, welcome, _person(dv, "dee@example.com"))
    admin.set_schedule(sync_runtime, "acme", ENROL, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", ENROL).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert len(dd.enrolments) == 1 and _row(dv, row)["dms_status"] == ENROLLED


def test_a_worker_killed_between_the_enrolment_call_and_its_record_enrols_once(
    sync_runtime: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseState,
    dd: DotdigitalState, welcome: ProgramRecord, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    people = [f"kill{n}@example.com" for n in range(3)]
    rows = [_request(dv, welcome, _person(dv, email)) for email in people]
    real_enrol = DotdigitalClient.enrol_in_program

    def enrol_then_die(self: DotdigitalClient, *args: Any, **kwargs: Any) -> ProgramEnrolment:
        real_enrol(self, *args, **kwargs)  # the platform enrols; the worker never hears
        monkeypatch.setattr(DotdigitalClient, "enrol_in_program", real_enrol)
        raise Killed

    monkeypatch.setattr(DotdigitalClient, "enrol_in_program", enrol_then_die)
    assert run_until_killed(sync_runtime, host, clock, "acme", ENROL), "the worker never died"
    assert all(_row(dv, r)["dms_status"] == ENROLLING for r in rows)

    audit = finish_after_lease(sync_runtime, host, clock, "acme", ENROL)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    [enrolment] = dd.enrolments.values()
    assert len(enrolment.contacts) == 3
    assert {_row(dv, r)["dms_platformenrolmentid"] for r in rows} == {enrolment.id}
    assert dd.counters.count("POST", ENROLMENTS) == 1


def test_a_lost_answer_is_settled_by_asking_the_platform(
    sync_runtime: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseState,
    dd: DotdigitalState, welcome: ProgramRecord, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    row = _request(dv, welcome, _person(dv, "eve@example.com"))
    real_enrol = DotdigitalClient.enrol_in_program

    def answer_lost(self: DotdigitalClient, *args: Any, **kwargs: Any) -> ProgramEnrolment:
        real_enrol(self, *args, **kwargs)
        raise OutcomeUnknown("POST /v2/programs/enrolments: the connection dropped")

    monkeypatch.setattr(DotdigitalClient, "enrol_in_program", answer_lost)
    audit = run_scheduled(sync_runtime, host, clock, "acme", ENROL)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    [enrolment] = dd.enrolments.values()
    assert _row(dv, row)["dms_platformenrolmentid"] == enrolment.id


def test_an_hour_other_integrations_spent_is_not_waited_out_inside_the_run(
    sync_runtime: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseState,
    dd: DotdigitalState, welcome: ProgramRecord,
) -> None:  # fmt: skip
    dd.enrolments_per_hour = 1
    assert dd.enrolment_allowed() is None  # another integration's call: the hour is spent
    _on_platform(dd, "fay@example.com")
    row = _request(dv, welcome, _person(dv, "fay@example.com"))

    first = run_scheduled(sync_runtime, host, clock, "acme", ENROL)

    assert first.status is AuditStatus.COMPLETED and first.message.endswith("1 waiting")
    assert _row(dv, row)["dms_status"] == REQUESTED
    assert "this hour's are spent" in _row(dv, row)["dms_message"]
    assert dd.counters.count("POST", ENROLMENTS) == 1  # refused once, not retried
    # The next run within the hour does not ask again.
    run_scheduled(sync_runtime, host, clock, "acme", ENROL)
    assert dd.counters.count("POST", ENROLMENTS) == 1 and not dd.enrolments


def test_a_dry_run_says_whom_it_would_enrol_and_enrols_nobody(
    sync_runtime: Runtime, host: LocalHost, dv: DataverseState, dd: DotdigitalState,
    welcome: ProgramRecord,
) -> None:  # fmt: skip
    _on_platform(dd, "gus@example.com")
    row = _request(dv, welcome, _person(dv, "gus@example.com"))

    assert admin.sync_now(sync_runtime, "acme", ENROL, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=ENROL)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    details = {d.item: d for d in sync_runtime.audit.details("acme", audit.row_key)}
    assert details["Would enrol contacts in programs (Dotdigital)"].counts.read == 1
    assert not dd.enrolments and _row(dv, row)["dms_status"] == REQUESTED
    assert sync_runtime.state.get_value("acme", CALLS_KEY) is None  # no call of the hour spent


def test_rows_a_failed_run_left_enrolling_are_checked_with_the_platform_first(
    sync_runtime: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseState,
    dd: DotdigitalState, welcome: ProgramRecord,
) -> None:  # fmt: skip
    made = _request(dv, welcome, _person(dv, "hal@example.com"))
    never = _request(dv, welcome, _person(dv, "ivy@example.com"))
    hal = _on_platform(dd, "hal@example.com")
    ivy = _on_platform(dd, "ivy@example.com")
    earlier = dd.enrol(welcome, [hal], [])  # the call a run made before it failed
    for row in (made, never):
        dv.update(ROWS, row, {"dms_status": ENROLLING})

    audit = run_scheduled(sync_runtime, host, clock, "acme", ENROL)

    assert audit.message == "Program enrolment requests: 2 enrolled", audit.message
    assert _row(dv, made)["dms_platformenrolmentid"] == earlier.id  # not enrolled again
    assert _row(dv, never)["dms_status"] == ENROLLED
    assert dd.counters.count("POST", ENROLMENTS) == 1  # only the one that was never made
    [new] = [e for e in dd.enrolments.values() if e.id != earlier.id]
    assert new.contacts == [ivy]
