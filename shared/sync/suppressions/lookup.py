"""Find a page of emails in Dynamics with one `$batch` of filtered GETs: the contacts and leads
with those emails (and their Do not Bulk Email), and the account's email suppression rows for
them (a row of no account belongs to every account: a CRM user's row may leave it empty).

Emails go 50 to a GET (`EMAILS_PER_QUERY`, as the AddressBooks lookup): one `or` filter per
group, three GETs per group, so a page of 1,000 suppressions costs one `$batch` of 60 requests.
Dataverse compares text case-insensitively, as Dotdigital treats emails; matches are keyed by
the lower-cased email.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import literal
from shared.clients.dataverse.paging import Record, collection_target, iter_collection
from shared.dynamics_schema.connector import EMAIL_SUPPRESSION
from shared.sync.marketing_lists.pull_match import EMAILS_PER_QUERY, email_filter

EMAIL_COLUMN = "emailaddress1"
DNBE = "donotbulkemail"
PEOPLE = (("contact", "contacts", "contactid"), ("lead", "leads", "leadid"))
ROWS = EMAIL_SUPPRESSION.entity_set
ROW_ID = f"{EMAIL_SUPPRESSION.logical_name}id"
ROW_COLUMNS = (ROW_ID, "dms_email", "_dms_contactid_value", "_dms_leadid_value", "createdon")


@dataclass(frozen=True)
class Person:
    entity: str  # contact | lead
    record_id: str
    do_not_bulk_email: bool

    @property
    def entity_set(self) -> str:
        return self.entity + "s"


@dataclass(frozen=True)
class RowRef:
    """An email suppression row: its id and whom it is about."""

    row_id: str
    email: str
    regarding: tuple[tuple[str, str], ...]  # (entity, id) of its contact and/or lead
    created: datetime | None = None


@dataclass
class Found:
    people: dict[str, list[Person]] = field(default_factory=dict)  # email -> records
    rows: dict[str, list[RowRef]] = field(default_factory=dict)  # email -> suppression rows
    failed: dict[str, str] = field(default_factory=dict)  # email -> why it could not be looked up


def account_filter(account_id: str) -> str:
    return f"(dms_emailaccountid eq {literal(account_id)} or dms_emailaccountid eq null)"


def row_ref(row: Record) -> RowRef:
    regarding = tuple(
        (entity, str(row[f"_dms_{entity}id_value"]).lower())
        for entity in ("contact", "lead")
        if row.get(f"_dms_{entity}id_value")
    )
    created = row.get("createdon")
    return RowRef(
        str(row[ROW_ID]).lower(),
        str(row.get("dms_email") or ""),
        regarding,
        datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None,
    )


def _rows(dataverse: DataverseClient, result: BatchResult, label: str) -> list[Record]:
    body: Any = result.body
    rows: list[Record] = list(body.get("value") or []) if isinstance(body, dict) else []
    next_link = body.get("@odata.nextLink") if isinstance(body, dict) else None
    if next_link:  # more rows than a page for 50 emails: read on
        for page in iter_collection(dataverse.transport, str(next_link), label=label):
            rows.extend(page.records)
    return rows


def find(
    dataverse: DataverseClient,
    account_id: str,
    emails: Sequence[str],
    *,
    people: bool = True,
    rows: bool = True,
) -> Found:
    """Records and/or suppression rows for these lower-cased emails, in one `$batch`."""
    found = Found()
    groups = [emails[i : i + EMAILS_PER_QUERY] for i in range(0, len(emails), EMAILS_PER_QUERY)]
    kinds: list[str] = []
    if people:
        kinds += [entity for entity, _, _ in PEOPLE]
    if rows:
        kinds.append("row")
    requests: list[BatchRequest] = []
    for group in groups:
        for kind in kinds:
            if kind == "row":
                where = f"{account_filter(account_id)} and ({email_filter('dms_email', group)})"
                target = collection_target(ROWS, ROW_COLUMNS, filter=where)
                requests.append(BatchRequest.get(target))
            else:
                entity_set, key = kind + "s", kind + "id"
                target = collection_target(
                    entity_set, [key, EMAIL_COLUMN, DNBE], filter=email_filter(EMAIL_COLUMN, group)
                )
                requests.append(BatchRequest.get(target))
    if not requests:
        return found
    results = iter(dataverse.execute_batch(requests).results)
    for group in groups:
        wanted = set(group)
        answers = [(kind, next(results)) for kind in kinds]
        failure = next((r for _, r in answers if not r.ok), None)
        if failure is not None:
            why = failure.error_message or f"HTTP {failure.status or 'no answer'}"
            found.failed.update(dict.fromkeys(group, why))
            continue
        for kind, result in answers:
            label = ROWS if kind == "row" else kind + "s"
            for record in _rows(dataverse, result, label):
                if kind == "row":
                    ref = row_ref(record)
                    if ref.email.lower() in wanted:
                        found.rows.setdefault(ref.email.lower(), []).append(ref)
                    continue
                email = str(record.get(EMAIL_COLUMN) or "").lower()
                if email in wanted and record.get(kind + "id"):
                    person = Person(kind, str(record[kind + "id"]).lower(), bool(record.get(DNBE)))
                    found.people.setdefault(email, []).append(person)
    return found
