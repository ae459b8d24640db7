"""Resubscriptions, both ways.

Requested from Dynamics (`dms_requestresubscribe` on a suppression row): the platform is asked
through `POST /v2/contacts/resubscribe`, the call that sends the contact a confirmation email
when one is needed (seed 002: "the contact is sent a resubscribe confirmation email"). The
outcome goes into one note on the row's contact/lead (or, for a row that names none, on the
records with its email) and onto the row (status, detail; the flag cleared): ContactAdded ->
the date and the email account, and the row is removed and Do not Bulk Email cleared as for a
resubscription seen in the platform (the contact is subscribed: its suppression is over);
ContactChallenged -> confirmation email sent; ContactCannotBeUnsuppressed -> the reason.

Seen in the platform: contacts modified since the last run (`GET /contacts/v3?~modified=gte::`)
whose email channel is subscribed again. This is the documented call that reports a contact's
current email status incrementally, so one paged read covers every resubscription (a signup
form, a confirmed challenge, a resubscribe from here) without a call per suppressed email;
`suppressed-since` only ever lists new suppressions. The account's rows for such an email are
removed, the records' Do not Bulk Email cleared (setting on) and a ContactAdded note added: the
same note id as a ContactAdded answer to a request, so a request never leaves two notes.
Rows created after the run started are left alone (they may not have reached the platform yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.accounts import EmailAccount
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.paging import Record
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.contacts import Contact
from shared.clients.dotdigital.suppression_writes import ResubscribeResult, ResubscribeStatus
from shared.dynamics_schema.connector import RESUBSCRIPTION_STATUSES
from shared.errors import ApiError
from shared.sync.suppressions import lookup, writes
from shared.sync.suppressions.lookup import ROWS, Person, RowRef, account_filter

STATUS_VALUES = {option.label: option.value for option in RESUBSCRIPTION_STATUSES}
REQUEST_FILTER = "dms_requestresubscribe eq true"
SUBJECTS = {
    ResubscribeStatus.ADDED: "Resubscribed to email",
    ResubscribeStatus.CHALLENGED: "Resubscribe confirmation email sent",
    ResubscribeStatus.CANNOT_BE_UNSUPPRESSED: "Not resubscribed to email",
}
# Why the platform would not lift a suppression, by the contact's status (dotdigital.md §4).
CANNOT_REASONS = {
    "IspComplained": "the contact complained to their email provider (ISP complaint)",
    "DomainSuppression": "the email's domain is suppressed",
}
GLOBAL_REASON = "the address is on Dotdigital's Global Suppression List"
DETAIL_LENGTH = 500


def request_filter(account_id: str) -> str:
    return f"{REQUEST_FILTER} and {account_filter(account_id)}"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def outcome_text(
    status: ResubscribeStatus,
    *,
    email: str,
    account: EmailAccount,
    when: datetime,
    contact_status: str | None = None,
) -> str:
    if status is ResubscribeStatus.ADDED:
        return f"{email} was resubscribed on {_day(when)} to email account {account.name}."
    if status is ResubscribeStatus.CHALLENGED:
        return (
            f"A resubscribe confirmation email was sent to {email} on {_day(when)} (email "
            f"account {account.name}); the contact is resubscribed when they confirm."
        )
    reason = CANNOT_REASONS.get(contact_status or "", GLOBAL_REASON)
    return f"{email} was not resubscribed to email account {account.name}: {reason}."


@dataclass
class ResubscribeTally:
    read: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # status -> rows
    rows_updated: int = 0
    rows_removed: int = 0
    unflagged: int = 0  # records whose Do not Bulk Email was cleared
    notes: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # email -> why


def _targets(ref: RowRef, people: Iterable[Person]) -> list[tuple[str, str]]:
    """Whom a row's note is about: its contact/lead, else the records with its email."""
    return list(ref.regarding) or [(p.entity, p.record_id) for p in people]


@dataclass
class ResubscribeWork:
    """A page decided: its counts if every Dynamics write succeeds, and the writes."""

    planned: ResubscribeTally
    requests: list[BatchRequest] = field(default_factory=list)
    owners: list[tuple[str, str]] = field(default_factory=list)  # (email, kind) per request

    def add(self, email: str, kind: str, request: BatchRequest) -> None:
        self.requests.append(request)
        self.owners.append((email, kind))
        setattr(self.planned, KINDS[kind], getattr(self.planned, KINDS[kind]) + 1)


KINDS = {"row": "rows_updated", "note": "notes", "delete": "rows_removed", "flag": "unflagged"}


def request_page(
    dataverse: DataverseClient,
    platform: DotdigitalClient,
    account: EmailAccount,
    rows: Sequence[Record],
    now: datetime,
) -> ResubscribeTally:
    return send(dataverse, plan_requests(dataverse, platform, account, rows, now))


def plan_requests(
    dataverse: DataverseClient,
    platform: DotdigitalClient,
    account: EmailAccount,
    rows: Sequence[Record],
    now: datetime,
) -> ResubscribeWork:
    """Ask the platform to resubscribe each row's email; decide the Dynamics writes."""
    work = ResubscribeWork(ResubscribeTally(read=len(rows)))
    tally = work.planned
    refs = [lookup.row_ref(row) for row in rows]
    unnamed = sorted({r.email.lower() for r in refs if not r.regarding and r.email})
    found = lookup.find(dataverse, account.account_id, unnamed, rows=False) if unnamed else None
    for ref in refs:
        if not ref.email:
            tally.failures[ref.row_id] = "the suppression row has no email"
            continue
        try:
            answer: ResubscribeResult = platform.resubscribe(ref.email)
        except ApiError as error:
            reason = writes.refusal(error)
            if reason is None:
                raise
            tally.failures[ref.email] = reason  # the row keeps its flag for a corrected email
            continue
        status = answer.status
        tally.outcomes[status.value] = tally.outcomes.get(status.value, 0) + 1
        contact_status = answer.contact.status if answer.contact is not None else None
        text = outcome_text(
            status, email=ref.email, account=account, when=now, contact_status=contact_status
        )
        people = found.people.get(ref.email.lower(), []) if found is not None else []
        targets = _targets(ref, people)
        if status is ResubscribeStatus.ADDED:
            # Subscribed again: the suppression is over, as when the platform reports it.
            work.add(ref.email, "delete", writes.delete_row(ref.row_id))
            if account.update_do_not_bulk_email:
                for entity, record_id in targets:
                    person = Person(entity, record_id, True)
                    work.add(ref.email, "flag", writes.set_do_not_bulk_email(person, False))
        else:
            work.add(
                ref.email,
                "row",
                BatchRequest.update(
                    ROWS,
                    ref.row_id,
                    {
                        "dms_resubscriptionstatus": STATUS_VALUES[status.value],
                        "dms_resubscriptiondetail": text[:DETAIL_LENGTH],
                        "dms_requestresubscribe": False,
                    },
                ),
            )
        for entity, record_id in targets:
            note = writes.note_id(account.account_id, ref.row_id, entity, record_id, status.value)
            text_note = writes.upsert_note(
                note, entity, record_id, subject=SUBJECTS[status], text=text
            )
            work.add(ref.email, "note", text_note)
    return work


def send(dataverse: DataverseClient, work: ResubscribeWork) -> ResubscribeTally:
    """The writes sent: the planned counts less the writes that did not happen."""
    tally = replace(work.planned, outcomes=dict(work.planned.outcomes),
                    failures=dict(work.planned.failures))  # fmt: skip
    sent = writes.send(dataverse, work.requests)
    for (key, kind), answer in zip(work.owners, sent.results, strict=True):
        gone = kind == "delete" and answer.status == 404
        if answer.ok or (gone and answer.resent):  # a resent batch meeting its own delete
            continue
        setattr(tally, KINDS[kind], getattr(tally, KINDS[kind]) - 1)
        if not gone:  # gone already: removed by someone else since the lookup
            tally.failures.setdefault(key, answer.why)
    return tally


def resubscribed_page(
    dataverse: DataverseClient,
    account: EmailAccount,
    contacts: Sequence[Contact],
    started: datetime,
) -> ResubscribeTally:
    return send(dataverse, plan_resubscribed(dataverse, account, contacts, started))


def plan_resubscribed(
    dataverse: DataverseClient,
    account: EmailAccount,
    contacts: Sequence[Contact],
    started: datetime,
) -> ResubscribeWork:
    """Contacts of one v3 page: those subscribed again lose their suppression rows here."""
    work = ResubscribeWork(ResubscribeTally(read=len(contacts)))
    tally = work.planned
    subscribed: dict[str, Contact] = {}
    for contact in contacts:
        status = (contact.email_status or contact.status or "").lower()
        if contact.email and status == "subscribed":
            subscribed[contact.email.lower()] = contact
    if not subscribed:
        return work
    # Most modified contacts were never suppressed: look for rows first (one GET per 50
    # emails), and for the contacts and leads only of emails that have one.
    found = lookup.find(dataverse, account.account_id, sorted(subscribed), people=False)
    with_rows = sorted(email for email in found.rows if email in subscribed)
    if with_rows:
        people_found = lookup.find(dataverse, account.account_id, with_rows, rows=False)
        found.people, found.failed = people_found.people, found.failed | people_found.failed
    tally.failures.update(found.failed)
    flag = account.update_do_not_bulk_email
    for email, contact in subscribed.items():
        refs = [r for r in found.rows.get(email, []) if r.created is None or r.created < started]
        if not refs or email in found.failed:
            continue
        people = found.people.get(email, [])
        when = contact.updated or started
        text = outcome_text(
            ResubscribeStatus.ADDED, email=refs[0].email, account=account, when=when
        )
        for ref in refs:
            work.add(email, "delete", writes.delete_row(ref.row_id))
            for entity, record_id in _targets(ref, people):
                note = writes.note_id(
                    account.account_id, ref.row_id, entity, record_id, ResubscribeStatus.ADDED
                )
                subject = SUBJECTS[ResubscribeStatus.ADDED]
                upsert = writes.upsert_note(note, entity, record_id, subject=subject, text=text)
                work.add(email, "note", upsert)
        if flag:
            for person in people:
                if person.do_not_bulk_email:
                    work.add(email, "flag", writes.set_do_not_bulk_email(person, False))
    return work
