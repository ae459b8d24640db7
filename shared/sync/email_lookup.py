"""Find Dynamics records by email, many emails and several tables in one `$batch`.

Each group of emails becomes one filtered GET per query (`emailaddress1 eq 'a' or ...`): a
page of platform contacts costs one round trip whatever the tables' size, and Dataverse counts
each request inside a batch against its service protection limits, so emails share a filter
rather than getting a GET each. Dataverse compares text case-insensitively, as the platforms
treat emails, so matches are keyed by the lower-cased email. Records carry their
`@odata.etag` (a conditional write can use it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import check_name, literal
from shared.clients.dataverse.paging import Record, collection_target

EMAILS_PER_QUERY = 50  # keeps each GET's URL near 3 KB, far below the service's limit
ETAG = "@odata.etag"


@dataclass(frozen=True)
class EmailQuery:
    """Rows of `path` (an entity set, or a list's member navigation) whose `email_column` is
    one of the emails; `columns` are read besides the key and the email."""

    path: str
    key: str
    email_column: str = "emailaddress1"
    columns: tuple[str, ...] = ()
    condition: str | None = None  # an OData filter the rows must also meet (and-ed)

    def filter(self, emails: Sequence[str]) -> str:
        by_email = email_filter(self.email_column, emails)
        return by_email if self.condition is None else f"{self.condition} and ({by_email})"

    def select(self) -> list[str]:
        return list(dict.fromkeys((self.key, self.email_column, *self.columns)))


@dataclass
class Found:
    """One query's answer: rows by lower-cased email, and the emails it could not look up."""

    rows: dict[str, list[Record]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # email -> why

    def ids(self, email: str, key: str) -> list[str]:
        return [str(row[key]).lower() for row in self.rows.get(email, []) if row.get(key)]


def groups(emails: Sequence[str], size: int = EMAILS_PER_QUERY) -> Iterator[list[str]]:
    iterator = iter(emails)
    while group := list(islice(iterator, size)):
        yield group


def email_filter(column: str, emails: Sequence[str]) -> str:
    check_name(column)
    return " or ".join(f"{column} eq {literal(email)}" for email in emails)


def find_by_email(
    dataverse: DataverseClient, queries: Sequence[EmailQuery], emails: Sequence[str]
) -> list[Found]:
    """One `Found` per query for these lower-cased emails, all read in one `$batch` (more
    only past 1,000 GETs)."""
    found = [Found() for _ in queries]
    wanted = sorted(set(emails))
    if not wanted or not queries:
        return found
    batches = list(groups(wanted))
    requests = [
        BatchRequest.get(collection_target(q.path, q.select(), filter=q.filter(group)))
        for group in batches
        for q in queries
    ]
    results = iter(dataverse.execute_batch(requests).results)
    for group in batches:
        members = set(group)
        for query, answer in zip(queries, found, strict=True):
            result = next(results)
            if not result.ok:
                answer.failed.update(dict.fromkeys(group, result.why))
                continue
            for row in dataverse.batch_rows(result, query.path):
                email = str(row.get(query.email_column) or "").lower()
                if email in members:
                    answer.rows.setdefault(email, []).append(row)
    return found
