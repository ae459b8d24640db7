"""Platform -> Dynamics: one page of `suppressed-since` onto the contacts and leads with the same
emails.

With "Add Global Unsubscribers to CRM Suppression List" on, each matched record gets an email
suppression row (email, date and reason as the platform states them, the account, the record,
source "Email platform"), unless the account already has a row for that email (a CRM user's
row that the connector pushed earlier comes back in `suppressed-since`: it is not doubled).
With "Update Do not Bulk Email" on, matched records not yet flagged get `donotbulkemail=true`.
An email with no contact or lead is counted as not in Dynamics; one whose lookup or write
failed is counted failed with its email in the details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from shared.accounts import EmailAccount
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dotdigital.suppressions import Suppression
from shared.sync.suppressions import lookup, writes


@dataclass
class PullResult:
    read: int = 0
    rows_created: int = 0
    rows_existing: int = 0
    flagged: int = 0  # records set Do not Bulk Email
    not_in_dynamics: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # email -> why


def latest_by_email(page: Sequence[Suppression]) -> dict[str, Suppression]:
    """One suppression per email (a contact suppressed twice in the page: the later one)."""
    chosen: dict[str, Suppression] = {}
    for item in page:
        if item.email:
            chosen[item.email.lower()] = item
    return chosen


@dataclass
class PullWork:
    """A page decided: its counts if every write succeeds, and the writes."""

    planned: PullResult
    requests: list[BatchRequest] = field(default_factory=list)
    owners: list[tuple[str, str]] = field(default_factory=list)  # (email, "row" | "flag")


def pull_page(
    dataverse: DataverseClient, account: EmailAccount, page: Sequence[Suppression]
) -> PullResult:
    return send_page(dataverse, plan_page(dataverse, account, page))


def plan_page(
    dataverse: DataverseClient, account: EmailAccount, page: Sequence[Suppression]
) -> PullWork:
    work = PullWork(PullResult(read=len(page)))
    result = work.planned
    add_rows = account.add_global_unsubscribers_to_crm_suppression_list
    flag = account.update_do_not_bulk_email
    by_email = latest_by_email(page)
    if not by_email or not (add_rows or flag):
        return work
    found = lookup.find(dataverse, account.account_id, sorted(by_email), rows=add_rows)
    result.failures.update(found.failed)
    for email, item in by_email.items():
        if email in found.failed:
            continue
        people = found.people.get(email, [])
        if not people:
            result.not_in_dynamics += 1
            continue
        if add_rows and found.rows.get(email):
            result.rows_existing += len(people)
        elif add_rows:
            for person in people:
                row = writes.row_id(account.account_id, person, item.date_removed)
                work.requests.append(
                    writes.create_row(
                        row,
                        person,
                        email=item.email,
                        suppressed_on=item.date_removed,
                        reason=item.reason,
                        account_id=account.account_id,
                    )
                )
                work.owners.append((email, "row"))
                result.rows_created += 1
        if flag:
            for person in people:
                if not person.do_not_bulk_email:
                    work.requests.append(writes.set_do_not_bulk_email(person, True))
                    work.owners.append((email, "flag"))
                    result.flagged += 1
    return work


def send_page(dataverse: DataverseClient, work: PullWork) -> PullResult:
    """The writes sent: the planned counts less the writes that did not happen."""
    result = replace(work.planned, failures=dict(work.planned.failures))
    sent = writes.send(dataverse, work.requests)
    for (email, kind), answer in zip(work.owners, sent.results, strict=True):
        if answer.ok or (answer.resent and kind == "row" and answer.status == 412):
            continue  # a resent batch meeting its own first send's row: written by this run
        if kind == "row":
            result.rows_created -= 1
        else:
            result.flagged -= 1
        if kind == "row" and answer.status == 412:
            result.rows_existing += 1  # written by another run since the lookup
        else:
            result.failures.setdefault(email, answer.why)
    return result
