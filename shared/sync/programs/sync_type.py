"""ProgramEnrolments: Program Enrolment rows created in Dynamics -> enrolments in the platform.

For each row of the account still to do: the program must be allowed for CRM use and Active,
and with Mapped Users Only the row's creator a mapped user (else the row is Refused, its message
saying what to do). The person's email must be a platform contact: those that are not are
imported first (which puts them in "All contacts"). Then one enrolment call per program and at
most 25 contacts, within the account's 20 calls an hour (the calls made are kept in SyncState;
rows beyond the budget stay Requested with a message, the next run continues).

The call is not safe to resend: its rows are marked Enrolling and the batch kept in the
checkpoint before it is made. A run that resumes with a batch in flight, a lost answer, and
rows found Enrolling all ask the platform (enrolments by status) whether the enrolment exists,
and enrol only if it does not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.programs import EnrolmentLimitReached
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.errors import ApiError, OutcomeUnknown
from shared.sync.programs.decide import Batch, find_enrolment, plan_requests
from shared.sync.programs.rows import RowWriter, fill_emails, to_do
from shared.sync_types import SyncType

CALLS_PER_HOUR = 20  # POST /v2/programs/enrolments, per account (the reference, §8)
CALLS_KEY = f"{SyncType.PROGRAM_ENROLMENTS.value}-Calls"  # SyncState: the last hour's calls
HOUR = timedelta(hours=1)
MAX_FAILURES = 20
WAITING = (
    "Waiting: Dotdigital takes {limit} enrolment calls an hour and this hour's are spent; the "
    "next ProgramEnrolments run enrols it."
)
NO_ANSWER = "Dotdigital did not answer the enrolment and has no record of it; the next run retries."


class InFlight(BaseModel):
    """A batch whose enrolment call is being made (saved before the call)."""

    batch: Batch


class EnrolmentCursor(Cursor):
    version: ClassVar[int] = 1

    batches: list[Batch] | None = None  # the enrolment calls of this run, decided once
    done: int = 0  # batches finished (enrolled, failed or left waiting)
    in_flight: InFlight | None = None
    enrolled: int = 0
    refused: int = 0
    waiting: int = 0
    failures: list[str] = []


class ProgramEnrolments(SyncTypeTemplate[EnrolmentCursor]):
    declaration = SyncDeclaration(
        SyncType.PROGRAM_ENROLMENTS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_PLATFORM,
        summary="Program Enrolment rows -> program enrolments (allowed, active programs)",
    )
    cursor_model = EnrolmentCursor

    def start(self, run: Run[EnrolmentCursor]) -> EnrolmentCursor:
        return EnrolmentCursor()

    def run(self, run: Run[EnrolmentCursor]) -> Steps:
        cursor = run.cursor
        platform = run.platform(DotdigitalClient)
        writer = RowWriter(run.services.dataverse())
        if cursor.in_flight is not None:
            # The worker died around the call: whether it was made, the platform knows.
            self._settle(run, platform, writer, cursor.in_flight.batch)
            cursor.in_flight = None
            cursor.done += 1
            yield
        if cursor.batches is None:
            cursor.batches = self._plan(run, platform, writer)
            yield
        for batch in cursor.batches[cursor.done :]:
            if not _spend_call(run):
                writer.waiting(batch.row_ids, WAITING.format(limit=CALLS_PER_HOUR))
                cursor.waiting += len(batch.row_ids)
                cursor.done += 1
                continue
            writer.enrolling(batch.row_ids)
            cursor.in_flight = InFlight(batch=batch)
            run.save_only()
            yield  # the intent is saved before the call
            self._enrol(run, platform, writer, batch)
            cursor.in_flight = None
            cursor.done += 1
            yield
        return _result(run)

    def _plan(self, run: Run[EnrolmentCursor], platform: DotdigitalClient,
              writer: RowWriter) -> list[Batch]:  # fmt: skip
        dataverse = run.services.dataverse()
        account_id = run.account.account_id
        requests = to_do(dataverse, account_id)
        fill_emails(dataverse, requests)
        plan = plan_requests(run.services, platform, account_id, requests)
        for refusal in plan.refusals:
            writer.refused(refusal.row_ids, refusal.message)
            run.cursor.refused += len(refusal.row_ids)
        for failure in plan.failures:
            writer.failed(failure.row_ids, failure.message)
            _fail(run, len(failure.row_ids), failure.message)
        for found in plan.already_enrolled:
            writer.enrolled(found.row_ids, found.enrolment_id, run.services.clock())
            _enrolled(run, len(found.row_ids))
        run.counts += Counts(read=len(requests))
        return plan.batches

    def _enrol(self, run: Run[EnrolmentCursor], platform: DotdigitalClient, writer: RowWriter,
               batch: Batch) -> None:  # fmt: skip
        try:
            enrolment = platform.enrol_in_program(batch.program_id, contact_ids=batch.contact_ids)
        except OutcomeUnknown:
            self._settle(run, platform, writer, batch)
            return
        except EnrolmentLimitReached:
            # Other integrations spent the hour's calls: this batch and the rest wait for it.
            writer.waiting(batch.row_ids, WAITING.format(limit=CALLS_PER_HOUR))
            run.cursor.waiting += len(batch.row_ids)
            _spend_hour(run)
            return
        except ApiError as error:
            writer.failed(batch.row_ids, f"Dotdigital refused the enrolment: {error}")
            _fail(run, len(batch.row_ids), str(error))
            return
        writer.enrolled(batch.row_ids, enrolment.id, run.services.clock())
        _enrolled(run, len(batch.row_ids))

    def _settle(self, run: Run[EnrolmentCursor], platform: DotdigitalClient, writer: RowWriter,
                batch: Batch) -> None:  # fmt: skip
        """A batch whose call may have been made: enrolled if the platform has it, else back
        to Requested for the next run (never enrolled twice)."""
        found = find_enrolment(platform, batch.program_id, batch.contact_ids, batch.since)
        if found is None:
            writer.waiting(batch.row_ids, NO_ANSWER)
            run.cursor.waiting += len(batch.row_ids)
            return
        writer.enrolled(batch.row_ids, found, run.services.clock())
        _enrolled(run, len(batch.row_ids))


def _spend_call(run: Run[EnrolmentCursor]) -> bool:
    """Take one of the hour's enrolment calls (False: none left). Kept before the call: a call
    whose answer is lost still counts against the hour."""
    state = run.services.state
    account_id = run.account.account_id
    now = run.services.clock()
    saved = state.get_value(account_id, CALLS_KEY) or []
    recent = [t for t in saved if datetime.fromisoformat(t) > now - HOUR]
    if len(recent) >= CALLS_PER_HOUR:
        return False
    state.set_value(account_id, CALLS_KEY, [*recent, now.astimezone(UTC).isoformat()], now)
    return True


def _spend_hour(run: Run[EnrolmentCursor]) -> None:
    """The platform says the hour's calls are spent: count them all as made now."""
    now = run.services.clock()
    stamp = now.astimezone(UTC).isoformat()
    run.services.state.set_value(run.account.account_id, CALLS_KEY, [stamp] * CALLS_PER_HOUR, now)


def _enrolled(run: Run[EnrolmentCursor], rows: int) -> None:
    run.cursor.enrolled += rows
    run.counts += Counts(updated=rows)


def _fail(run: Run[EnrolmentCursor], rows: int, message: str) -> None:
    if len(run.cursor.failures) < MAX_FAILURES:
        run.cursor.failures.append(message[:200])
    run.counts += Counts(failed=rows)


def _result(run: Run[EnrolmentCursor]) -> SyncResult:
    cursor = run.cursor
    counts = run.counts
    tally = {"enrolled": cursor.enrolled, "refused": cursor.refused,
             "waiting": cursor.waiting, "failed": counts.failed}  # fmt: skip
    parts = [f"{n} {what}" for what, n in tally.items() if n]
    if not parts:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    for item, n, status in (("Enrolled", cursor.enrolled, AuditStatus.COMPLETED),
                            ("Refused", cursor.refused, AuditStatus.COMPLETED_WITH_ERRORS),
                            ("Waiting", cursor.waiting, AuditStatus.COMPLETED)):  # fmt: skip
        if n:
            run.detail(AuditDetail(item=item, status=status, message=f"{n} enrolment requests",
                                   counts=Counts(updated=n)))  # fmt: skip
    if counts.failed:
        run.detail(AuditDetail(item="Failed", status=AuditStatus.FAILED,
                               message="; ".join(cursor.failures),
                               counts=Counts(failed=counts.failed)))  # fmt: skip
    text = "Program enrolment requests: " + ", ".join(parts)
    if counts.failed and not cursor.enrolled:
        return SyncResult(AuditStatus.FAILED, text)
    if counts.failed or cursor.refused:
        return SyncResult(AuditStatus.COMPLETED_WITH_ERRORS, text)
    return SyncResult(AuditStatus.COMPLETED, text)
