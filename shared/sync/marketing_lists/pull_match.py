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

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.lists import MarketingList
from shared.clients.dataverse.odata import entity_path
from shared.clients.dataverse.paging import Record, collection_target
from shared.sync.email_lookup import email_filter, groups
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
    batches = list(groups(emails, EMAILS_PER_QUERY))
    requests: list[BatchRequest] = []
    for group in batches:
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
    for number, group in enumerate(batches):
        found, members = outcome.results[2 * number], outcome.results[2 * number + 1]
        failure = next((r for r in (found, members) if not r.ok), None)
        if failure is not None:
            lookup.failed.update(dict.fromkeys(group, failure.why))
            continue
        wanted = set(group)
        lookup.add_found(
            dataverse.batch_rows(found, member_type.entity_set), key, email_column, wanted
        )
        navigation = f"lists({mlist.list_id})/{member_type.navigation}"
        lookup.add_in_list(dataverse.batch_rows(members, navigation), email_column, wanted)
    return lookup
