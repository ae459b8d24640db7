"""What to do with each enrolment request: refuse it (program not allowed, not active or gone;
an unmapped user under Mapped Users Only; no email), find it enrolled already (a row left
Enrolling whose call went through), or put it in a batch: one program, at most 25 contacts,
the people not yet in the platform imported first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.imports import ImportContact, ImportReport
from shared.clients.dotdigital.programs import (
    ENROLMENT_STATUSES,
    MAX_ENROLMENT_CONTACTS,
    Program,
    ProgramEnrolment,
)
from shared.runtime import Runtime
from shared.storage.programs_repo import ProgramAccessRepository, UserMappingRepository
from shared.sync.programs.rows import Request, Status

ACTIVE = "Active"
IMPORT_POLL_SECONDS = 5.0


class Batch(BaseModel):
    """One enrolment call: a program and up to 25 contacts, for these rows."""

    program_id: int
    contact_ids: list[int]
    row_ids: list[str]
    since: datetime | None  # the oldest row's creation: an enrolment before it is not theirs


@dataclass
class Outcome:
    row_ids: list[str]
    message: str = ""
    enrolment_id: str = ""


@dataclass
class Decisions:
    batches: list[Batch] = field(default_factory=list)
    refusals: list[Outcome] = field(default_factory=list)
    failures: list[Outcome] = field(default_factory=list)
    already_enrolled: list[Outcome] = field(default_factory=list)


def refusal(request: Request, program: Program | None, account_id: str, allowed: set[int],
            mapped_only: bool, mapped: set[str]) -> str | None:  # fmt: skip
    """Why the request is refused (what to do about it), or None."""
    pid = request.program_id
    if program is None:
        return (
            f"Dotdigital has no program {pid}: choose one of the account's programs "
            f"(`programs list {account_id}`), then create the enrolment again."
        )
    if program.status != ACTIVE:
        return (
            f"The program '{program.name}' ({pid}) is {program.status} in Dotdigital: activate "
            "it there or choose an active program, then create the enrolment again."
        )
    if pid not in allowed:
        return (
            f"The program '{program.name}' ({pid}) is not allowed for CRM use: an administrator "
            f"allows it with `programs allow {account_id} {pid}`, then create the enrolment again."
        )
    if mapped_only and request.created_by not in mapped:
        return (
            f"Only mapped users may enrol contacts and leads in programs of '{account_id}': an "
            f"administrator maps your Dynamics user to a Dotdigital user (`users list "
            f"{account_id}`), then create the enrolment again."
        )
    if not request.email:
        return "The contact or lead has no email address: add one, then create the enrolment again."
    return None


def plan_requests(services: Runtime, platform: DotdigitalClient, account_id: str,
                  requests: Sequence[Request]) -> Decisions:  # fmt: skip
    decisions = Decisions()
    if not requests:
        return decisions
    access = services.repository(ProgramAccessRepository)
    allowed = {p.program_id for p in access.allowed(account_id)}
    mapped_only = access.mapped_users_only(account_id)
    mapped = {m.dynamics_user_id for m in services.repository(UserMappingRepository)
              .for_account(account_id)}  # fmt: skip
    programs = {p.id: p for p in platform.iter_programs()}
    accepted: list[Request] = []
    refused: dict[str, list[str]] = {}
    for request in requests:
        why = refusal(request, programs.get(request.program_id), account_id, allowed,
                      mapped_only, mapped)  # fmt: skip
        if why is None:
            accepted.append(request)
        else:
            refused.setdefault(why, []).append(request.row_id)
    decisions.refusals = [Outcome(ids, why) for why, ids in refused.items()]
    contacts, failed = contact_ids(platform, {r.email for r in accepted})
    for why, emails in failed.items():
        rows = [r.row_id for r in accepted if r.email in emails]
        decisions.failures.append(Outcome(rows, why))
    accepted = [r for r in accepted if r.email in contacts]
    enrolling = [r for r in accepted if r.status is Status.ENROLLING]
    if enrolling:
        # Rows a dead or unanswered call left Enrolling: enrolled if the platform has it.
        known = all_enrolments(platform)
        for request in enrolling:
            found = _match(known, request.program_id, [contacts[request.email]],
                           request.created_on)  # fmt: skip
            if found is not None:
                decisions.already_enrolled.append(Outcome([request.row_id], enrolment_id=found))
                accepted.remove(request)
    decisions.batches = batches(accepted, contacts)
    return decisions


def contact_ids(
    platform: DotdigitalClient, emails: Iterable[str]
) -> tuple[dict[str, int], dict[str, set[str]]]:
    """email -> platform contact id; the emails not yet in the platform are imported first
    (a new contact lands in "All contacts"). Also: why -> the emails the import refused."""
    found: dict[str, int] = {}
    missing: list[str] = []
    for email in sorted(emails):
        contact = platform.get_contact("email", email)
        if contact is None:
            missing.append(email)
        else:
            found[email] = contact.contact_id
    failed: dict[str, set[str]] = {}
    if missing:
        report = platform.import_contacts(
            [ImportContact(email=email) for email in missing],
            merge_option="overwriteIfNotEmpty",  # only the email: nothing else is touched
            poll_interval_seconds=IMPORT_POLL_SECONDS,
        )
        found.update(_imported(report))
        for email in missing:
            if email not in found:
                why = _import_failure(report, email)
                failed.setdefault(why, set()).add(email)
    return found, failed


def _imported(report: ImportReport) -> dict[str, int]:
    refs = [ref for result in report.results for ref in (*result.created, *result.updated)]
    return {
        ref.identifiers.get("email", "").lower(): ref.contact_id
        for ref in refs
        if ref.identifiers.get("email")
    }


def _import_failure(report: ImportReport, email: str) -> str:
    for result in report.results:
        for failure in result.failures:
            if failure.identifiers.get("email", "").lower() == email:
                reason = ", ".join(failure.codes) or "refused"
                return f"Dotdigital did not take the email as a contact ({reason})."
    return "Dotdigital did not take the email as a contact."


def batches(requests: Sequence[Request], contacts: dict[str, int]) -> list[Batch]:
    """Per program in the order first asked, at most 25 distinct contacts a call (rows of the
    same person share its batch)."""
    out: list[Batch] = []
    current: dict[int, Batch] = {}
    for request in requests:
        contact = contacts[request.email]
        batch = current.get(request.program_id)
        if batch is None or (contact not in batch.contact_ids
                             and len(batch.contact_ids) >= MAX_ENROLMENT_CONTACTS):  # fmt: skip
            batch = Batch(program_id=request.program_id, contact_ids=[], row_ids=[],
                          since=request.created_on)  # fmt: skip
            current[request.program_id] = batch
            out.append(batch)
        if contact not in batch.contact_ids:
            batch.contact_ids.append(contact)
        batch.row_ids.append(request.row_id)
        if request.created_on and (batch.since is None or request.created_on < batch.since):
            batch.since = request.created_on
    return out


def all_enrolments(platform: DotdigitalClient) -> list[ProgramEnrolment]:
    return [e for status in ENROLMENT_STATUSES for e in platform.iter_enrolments(status)]


def _match(known: Sequence[ProgramEnrolment], program_id: int, contacts: Sequence[int],
           since: datetime | None) -> str | None:  # fmt: skip
    wanted = set(contacts)
    for enrolment in known:
        if enrolment.program_id != program_id or not wanted <= set(enrolment.contacts):
            continue
        made = enrolment.date_created
        if since is None or made is None or made >= since:
            return enrolment.id
    return None


def find_enrolment(platform: DotdigitalClient, program_id: int, contacts: Sequence[int],
                   since: datetime | None) -> str | None:  # fmt: skip
    """The id of the platform's enrolment of these contacts in the program, made at or after
    `since`; None if there is none (the call did not go through)."""
    return _match(all_enrolments(platform), program_id, contacts, since)
