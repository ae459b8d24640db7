"""Find a page of address book emails in Dynamics with one `$batch` of filtered GETs.

Each group of emails becomes two GETs: one on the list's member table (contacts, leads or
accounts: id and state of every record with one of those emails), one on the list's N:N
navigation (which of those emails are members already). A page therefore costs one round
trip whatever the list's size, and nothing about the list is held in memory. A group's
emails share one `or` filter rather than one GET each: Dataverse counts every request inside a
batch against its service protection limits. Dataverse compares text case-insensitively, as
Dotdigital treats emails, so matches are keyed by the lower-cased email.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList
from shared.clients.dataverse.odata import check_name, entity_path, literal
from shared.clients.dataverse.paging import Record, collection_target, iter_collection
from shared.sync.marketing_lists.values import STATE_COLUMN

EMAILS_PER_QUERY = 50  # keeps each GET's URL near 3 KB, far below the service's limit


@dataclass(frozen=True)
class Match:
    record_id: str
    active: bool  # statecode 0: an active contact or account, an open lead


@dataclass
class Lookup:
    matches: dict[str, list[Match]] = field(default_factory=dict)  # email -> its records
    in_list: set[str] = field(default_factory=set)  # emails with a record in the list
    failed: dict[str, str] = field(default_factory=dict)  # email -> why the lookup failed

    def merge(self, other: Lookup) -> None:
        for email, matches in other.matches.items():
            self.matches.setdefault(email, []).extend(matches)
        self.in_list |= other.in_list
        self.failed.update(other.failed)

    def add_found(
        self, rows: Iterable[Record], key: str, email_column: str, wanted: Set[str]
    ) -> None:
        """Member-table rows with one of the `wanted` (lower-cased) emails. Dataverse matched
        them ignoring case, so a row is keyed by its lower-cased email."""
        for row in rows:
            email = str(row.get(email_column) or "").lower()
            if email in wanted and row.get(key):
                match = Match(str(row[key]).lower(), row.get(STATE_COLUMN) == 0)
                self.matches.setdefault(email, []).append(match)

    def add_in_list(self, rows: Iterable[Record], email_column: str, wanted: Set[str]) -> None:
        """List members' rows: their `wanted` emails are in the list already."""
        for row in rows:
            email = str(row.get(email_column) or "").lower()
            if email in wanted:
                self.in_list.add(email)


def _groups(emails: Sequence[str], size: int) -> Iterator[list[str]]:
    iterator = iter(emails)
    while group := list(islice(iterator, size)):
        yield group


def email_filter(column: str, emails: Sequence[str]) -> str:
    check_name(column)
    return " or ".join(f"{column} eq {literal(email)}" for email in emails)


def _rows(dataverse: DataverseClient, result: BatchResult, label: str) -> list[Record]:
    """The records a batch GET answered, following a nextLink should a group ever match
    more rows than one page holds."""
    body: Any = result.body
    rows: list[Record] = list(body.get("value") or []) if isinstance(body, dict) else []
    next_link = body.get("@odata.nextLink") if isinstance(body, dict) else None
    if next_link:
        for page in iter_collection(dataverse.transport, str(next_link), label=label):
            rows.extend(page.records)
    return rows


def _why(result: BatchResult) -> str:
    return result.error_message or f"HTTP {result.status or 'no answer'}"


def lookup_emails(
    dataverse: DataverseClient,
    mlist: MarketingList,
    email_column: str,
    emails: Sequence[str],
) -> Lookup:
    """Records of the list's member type with these (lower-cased) emails, and which of the
    emails already have a record in the list."""
    lookup = Lookup()
    if not emails:
        return lookup
    member_type = mlist.member_type
    key = member_type.primary_key
    members_path = f"{entity_path('lists', mlist.list_id)}/{member_type.navigation}"
    groups = list(_groups(emails, EMAILS_PER_QUERY))
    requests: list[BatchRequest] = []
    for group in groups:
        where = email_filter(email_column, group)
        requests.append(
            BatchRequest.get(
                collection_target(
                    member_type.entity_set, [key, email_column, STATE_COLUMN], filter=where
                )
            )
        )
        requests.append(
            BatchRequest.get(collection_target(members_path, [key, email_column], filter=where))
        )
    outcome = dataverse.execute_batch(requests)
    for number, group in enumerate(groups):
        found, members = outcome.results[2 * number], outcome.results[2 * number + 1]
        failure = next((r for r in (found, members) if not r.ok), None)
        if failure is not None:
            lookup.failed.update(dict.fromkeys(group, _why(failure)))
            continue
        wanted = set(group)
        lookup.add_found(_rows(dataverse, found, member_type.entity_set), key, email_column, wanted)
        navigation = f"lists({mlist.list_id})/{member_type.navigation}"
        lookup.add_in_list(_rows(dataverse, members, navigation), email_column, wanted)
    return lookup
