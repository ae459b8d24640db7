"""Find a page of emails in Dynamics with one `$batch` (`shared.sync.email_lookup`): the
contacts and leads with those emails (and their Do not Bulk Email), and the account's email
suppression rows for them (a row of no account belongs to every account: a CRM user's row may
leave it empty). Emails go 50 to a GET, three GETs per group, so a page of 1,000 suppressions
costs one `$batch` of 60 requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import literal
from shared.clients.dataverse.paging import Record
from shared.dynamics_schema.connector import EMAIL_SUPPRESSION
from shared.sync.email_lookup import EmailQuery, find_by_email

DNBE = "donotbulkemail"
ROWS = EMAIL_SUPPRESSION.entity_set
ROW_ID = f"{EMAIL_SUPPRESSION.logical_name}id"
ROW_COLUMNS = (ROW_ID, "dms_email", "_dms_contactid_value", "_dms_leadid_value", "createdon")
PEOPLE = (EmailQuery("contacts", "contactid", columns=(DNBE,)),
          EmailQuery("leads", "leadid", columns=(DNBE,)))  # fmt: skip


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
    """An email suppression row: its id, whom it is about, when it was created."""

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


def find(
    dataverse: DataverseClient,
    account_id: str,
    emails: Sequence[str],
    *,
    people: bool = True,
    rows: bool = True,
) -> Found:
    """Records and/or suppression rows for these lower-cased emails, in one `$batch`."""
    queries = list(PEOPLE) if people else []
    if rows:
        queries.append(
            EmailQuery(ROWS, ROW_ID, "dms_email", ROW_COLUMNS[2:], account_filter(account_id))
        )
    found = Found()
    for query, answer in zip(queries, find_by_email(dataverse, queries, emails), strict=True):
        found.failed.update(answer.failed)
        for email, records in answer.rows.items():
            for record in records:
                if query.path == ROWS:
                    found.rows.setdefault(email, []).append(row_ref(record))
                elif record.get(query.key):
                    entity = query.key.removesuffix("id")
                    person = Person(entity, str(record[query.key]).lower(), bool(record.get(DNBE)))
                    found.people.setdefault(email, []).append(person)
    return found
