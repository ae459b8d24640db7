"""Reconciliation: do Dynamics and the platform agree? A drift report, run after an incident.

For each email-activated marketing list of the account (or the one named), its members in
Dynamics (paged reads, mapped values computed as MarketingListsDataOut computes them: the same
mappings, linked values and label defaults) are compared with its address book's contacts
(paged v3 reads of the mapped data fields): members on one side only, mapped values that
differ. And each list's Unsubscribes watermark is compared with what the platform says changed
since: unsubscribes from the book after the watermark whose member is still in the list are
changes Dynamics has not taken yet. Calls are bounded: pages of 5000 members (one `$batch` of
linked reads each) and of 1000 contacts; memory holds one list's values by email. Nothing is
written. `progress` is told what is being read (a long list takes a while).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.clients.dataverse.lists import MarketingList
from shared.clients.dotdigital.client import DotdigitalClient
from shared.errors import BadInputError, SyncError
from shared.mappings.model import MappedEntity
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.marketing_lists.list_push import labels_by_key
from shared.sync.marketing_lists.push_linked import resolve_linked
from shared.sync.marketing_lists.values import (
    STATE_COLUMN,
    ValueMapper,
    email_field,
    outbound,
    select_columns,
)
from shared.sync.unsubscribes import watermark_key

MEMBER_PAGE = 5000  # Dataverse members per page (its most)
CONTACT_PAGE = 1000  # platform contacts per page (v3's most)
MAX_NAMED = 50  # emails named per kind of drift per list (all are counted)

Progress = Callable[[str], None]


class ValueDrift(BaseModel):
    email: str
    label: str
    dynamics: Any
    platform: Any


class ListDrift(BaseModel):
    list_id: str
    list_name: str
    address_book: str = ""
    members: int = 0  # members in Dynamics that the list sync sends (eligible, with an email)
    contacts: int = 0  # contacts in the address book
    only_in_dynamics: list[str] = []  # emails, at most MAX_NAMED
    only_in_dynamics_count: int = 0
    only_in_platform: list[str] = []
    only_in_platform_count: int = 0
    values_differ: list[ValueDrift] = []
    values_differ_count: int = 0
    unsubscribes_watermark: datetime | None = None  # None: Unsubscribes never completed
    unsubscribes_not_taken: list[str] = []  # after the watermark, member still in the list
    unsubscribes_not_taken_count: int = 0
    problem: str = ""  # why the list could not be compared

    @property
    def agree(self) -> bool:
        return not (self.problem or self.only_in_dynamics_count or self.only_in_platform_count
                    or self.values_differ_count or self.unsubscribes_not_taken_count)  # fmt: skip


class DriftReport(BaseModel):
    account_id: str
    checked_utc: datetime
    lists: list[ListDrift]
    agree: bool


def reconcile(
    rt: Runtime, account_id: str, *, list_name: str | None = None, progress: Progress | None = None
) -> DriftReport:
    account = admin.require_account(rt, account_id)
    say = progress or (lambda _: None)
    dataverse = rt.dataverse()
    lists = sorted(
        (
            mlist
            for mlist in dataverse.iter_marketing_lists(active_only=True)
            if mlist.email_activated
            and (mlist.email_account_id or "").strip().casefold() == account_id.casefold()
            and (list_name is None or mlist.name == list_name)
        ),
        key=lambda mlist: (mlist.name.casefold(), mlist.list_id),
    )
    if list_name is not None and not lists:
        raise BadInputError(
            f"No active, email-activated marketing list '{list_name}' of account "
            f"'{account_id}' in Dynamics."
        )
    links = {link.list_id.lower(): link for link in list_links(rt).for_account(account_id)}
    checker = _Checker(rt, account_id, account.sync_only_open_leads_and_active_contacts, say)
    found = []
    for mlist in lists:
        drift = ListDrift(list_id=mlist.list_id, list_name=mlist.name)
        link = links.get(mlist.list_id.lower())
        if link is None:
            drift.problem = "Not synced yet: no address book is linked to it."
        else:
            try:
                # Signed in only for a list to compare (the client is kept per account): an
                # account that cannot sign in still gets its report, each list saying why.
                platform = rt.platform_client(account)
                assert isinstance(platform, DotdigitalClient)
                checker.compare(mlist, link, platform, drift)
            except SyncError as error:
                drift.problem = f"Could not be read: {error}"
        found.append(drift)
    return DriftReport(
        account_id=account_id,
        checked_utc=rt.clock(),
        lists=found,
        agree=all(d.agree for d in found),
    )


class _Checker:
    def __init__(self, rt: Runtime, account_id: str, only_eligible: bool, say: Progress) -> None:
        self.rt = rt
        self.account_id = account_id
        self.only_eligible = only_eligible
        self.say = say
        self.mappings = rt.mappings.for_account(account_id)
        self.labels = labels_by_key(rt.data_labels.for_account(account_id))

    def compare(
        self, mlist: MarketingList, link: ListLink, platform: DotdigitalClient, drift: ListDrift
    ) -> None:
        drift.address_book = link.address_book_name
        expected = self._dynamics(mlist)
        drift.members = len(expected)
        labels = sorted({label for values in expected.values() for label in values})
        seen: set[str] = set()
        contacts = platform.iter_contacts(
            list_id=link.address_book_id, data_fields=labels, include=(), limit=CONTACT_PAGE
        )
        for page in contacts.pages():
            for contact in page.items:
                email = contact.identifiers.get("email", "").strip().lower()
                if not email or email in seen:
                    continue
                seen.add(email)
                values = expected.get(email)
                if values is None:
                    drift.only_in_platform_count += 1
                    _name(drift.only_in_platform, email)
                    continue
                for label, wanted in values.items():
                    actual = contact.data_fields.get(label)
                    if _same(wanted, actual):
                        continue
                    drift.values_differ_count += 1
                    if len(drift.values_differ) < MAX_NAMED:
                        drift.values_differ.append(
                            ValueDrift(email=email, label=label, dynamics=wanted, platform=actual)
                        )
            self.say(f"{mlist.name}: {len(seen)} address book contacts read")
        drift.contacts = len(seen)
        for email in sorted(set(expected) - seen):
            drift.only_in_dynamics_count += 1
            _name(drift.only_in_dynamics, email)
        self._unsubscribes(link, platform, expected, drift)

    def _dynamics(self, mlist: MarketingList) -> dict[str, dict[str, Any]]:
        """Email (lower case) -> the values the list sync sends, for the members it sends."""
        dataverse = self.rt.dataverse()
        entity = MappedEntity(mlist.member_type.logical_name)
        mappings = outbound(self.mappings, entity)
        mapper = ValueMapper(mappings, self.labels)
        email_column = email_field(self.mappings, entity)
        expected: dict[str, dict[str, Any]] = {}
        read = 0
        pages = dataverse.iter_list_members(
            mlist, select_columns(mappings, entity), page_size=MEMBER_PAGE
        )
        for page in pages:
            linked = resolve_linked(dataverse, page.records, mappings)
            for record in page.records:
                email = str(record.get(email_column) or "").strip().lower()
                eligible = record.get(STATE_COLUMN, 0) in (0, None) or not self.only_eligible
                if email and eligible:
                    expected[email] = mapper(record, linked.rows)
            read += len(page.records)
            self.say(f"{mlist.name}: {read} Dynamics members read")
        return expected

    def _unsubscribes(
        self,
        link: ListLink,
        platform: DotdigitalClient,
        expected: Mapping[str, object],
        drift: ListDrift,
    ) -> None:
        stored = self.rt.state.get_value(self.account_id, watermark_key(link.address_book_id))
        if not isinstance(stored, str) or not stored:
            return  # never completed: the first run reads every unsubscribe
        drift.unsubscribes_watermark = datetime.fromisoformat(stored)
        unsubscribes = platform.iter_address_book_unsubscribes_since(
            link.address_book_id, drift.unsubscribes_watermark
        )
        for page in unsubscribes.pages():
            for unsubscribe in page.items:
                email = unsubscribe.email.strip().lower()
                if email in expected:  # still a member: the next Unsubscribes run removes it
                    drift.unsubscribes_not_taken_count += 1
                    _name(drift.unsubscribes_not_taken, email)
            if page.resume is None:
                break


def _name(names: list[str], email: str) -> None:
    if len(names) < MAX_NAMED:
        names.append(email)


def _same(wanted: Any, actual: Any) -> bool:
    """Whether a platform value is the one Dynamics would send, as the API answers it: numbers
    may come back as floats, dates as date-times, an empty value as none."""
    if wanted in (None, "") or actual in (None, ""):
        return wanted in (None, "") and actual in (None, "")
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return str(wanted).lower() == str(actual).lower()
    if isinstance(wanted, int | float):
        try:
            return float(wanted) == float(actual)
        except (TypeError, ValueError):
            return False
    left, right = _moment(wanted), _moment(actual)
    if left is not None and right is not None:
        if len(str(wanted)) == len("2026-11-23"):  # a date label: the day is what counts
            return left.date() == right.date()
        return left == right
    return str(wanted) == str(actual)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
