"""Contacts, address books and suppressions of the sandbox account.

Contacts keep their v2 status (`Subscribed`, `Unsubscribed`, `HardBounced`, ...), data field
values under the account's field names, created/updated timestamps (sandbox clock seconds) and
their address books. Ids only grow, so insertion order is ascending id order (v3 lists
contacts "in ascending order"). Suppressions are kept in the order they happened; each
address book keeps its members in the order they joined and its own unsubscribes.

Not thread-safe by itself: callers hold `DotdigitalState.lock`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
E164 = re.compile(r"^\+?[1-9]\d{6,14}$")

RESERVED_BOOK_NAMES = ("Test", "All Contacts")
FIRST_CONTACT_ID = 1_000_001
FIRST_BOOK_ID = 100

SUPPRESSED_STATUSES = frozenset(
    {
        "Unsubscribed",
        "SoftBounced",
        "HardBounced",
        "IspComplained",
        "MailBlocked",
        "DirectComplaint",
        "Deleted",
        "SharedSuppression",
        "Suppressed",
        "NotAllowed",
        "DomainSuppression",
        "NoMxRecord",
    }
)

# v2 contact status -> (v3 contact status, v3 email channel status)
V3_STATUS: dict[str, tuple[str, str]] = {
    "Subscribed": ("subscribed", "subscribed"),
    "Unsubscribed": ("unsubscribed", "unsubscribed"),
    "SoftBounced": ("subscribed", "softBounced"),
    "HardBounced": ("suppressed", "hardBounced"),
    "IspComplained": ("suppressed", "ispComplained"),
    "MailBlocked": ("suppressed", "blockedlocalpart"),
    "PendingOptIn": ("pendingOptIn", "pendingOptIn"),
    "DirectComplaint": ("suppressed", "directComplaint"),
    "Deleted": ("deleted", "deleted"),
    "SharedSuppression": ("suppressed", "sharedsuppression"),
    "Suppressed": ("suppressed", "suppressed"),
    "NotAllowed": ("suppressed", "suppressed"),
    "DomainSuppression": ("suppressed", "domainSuppressed"),
    "NoMxRecord": ("suppressed", "suppressed"),
}


@dataclass(slots=True, eq=False)
class ContactRecord:
    id: int
    email: str | None
    created: float
    updated: float
    status: str = "Subscribed"
    opt_in_type: str = "Single"
    email_type: str = "Html"
    mobile: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    books: dict[int, str] = field(default_factory=dict)  # book id -> subscribed|suppressed|pending
    preferences: set[int] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class SuppressionRecord:
    contact_id: int
    date: float
    reason: str  # a v2 contact status


@dataclass(eq=False)
class AddressBookRecord:
    id: int
    name: str
    visibility: str = "Private"
    writable: bool = True
    members: dict[int, None] = field(default_factory=dict)  # contact ids in joining order
    unsubscribes: list[SuppressionRecord] = field(default_factory=list)


class ContactStore:
    def __init__(self) -> None:
        self.contacts: dict[int, ContactRecord] = {}
        self.books: dict[int, AddressBookRecord] = {}
        self.suppressions: list[SuppressionRecord] = []
        self.global_suppressions: set[str] = set()  # emails on the Global Suppression List
        self._ids: list[int] = []
        self._by_email: dict[str, int] = {}
        self._by_mobile: dict[str, int] = {}
        self._next_contact_id = FIRST_CONTACT_ID
        self._next_book_id = FIRST_BOOK_ID
        test = AddressBookRecord(self._take_book_id(), "Test", "Private", writable=False)
        self.books[test.id] = test

    # Contacts -------------------------------------------------------------------------------

    def add_contact(
        self,
        email: str | None,
        *,
        when: float,
        mobile: str | None = None,
        status: str = "Subscribed",
        opt_in_type: str = "Single",
        email_type: str = "Html",
        data: dict[str, Any] | None = None,
        updated: float | None = None,
    ) -> ContactRecord:
        if email is not None and email.lower() in self._by_email:
            raise ValueError(f"a contact with the email {email} exists")
        contact = ContactRecord(
            id=self._next_contact_id,
            email=email,
            created=when,
            updated=when if updated is None else updated,
            status=status,
            opt_in_type=opt_in_type,
            email_type=email_type,
            mobile=mobile,
            data=dict(data or {}),
        )
        self._next_contact_id += 1
        self.contacts[contact.id] = contact
        self._ids.append(contact.id)
        if email is not None:
            self._by_email[email.lower()] = contact.id
        if mobile is not None:
            self._by_mobile[mobile] = contact.id
        return contact

    def by_email(self, email: str) -> ContactRecord | None:
        contact_id = self._by_email.get(email.lower())
        return None if contact_id is None else self.contacts[contact_id]

    def by_mobile(self, mobile: str) -> ContactRecord | None:
        contact_id = self._by_mobile.get(mobile)
        return None if contact_id is None else self.contacts[contact_id]

    def by_id_or_email(self, key: str) -> ContactRecord | None:
        if key.isdigit():
            return self.contacts.get(int(key))
        return self.by_email(key)

    def change_email(self, contact: ContactRecord, email: str) -> bool:
        """Give the contact a new email; False if another contact has it."""
        other = self._by_email.get(email.lower())
        if other is not None and other != contact.id:
            return False
        if contact.email is not None:
            self._by_email.pop(contact.email.lower(), None)
        contact.email = email
        self._by_email[email.lower()] = contact.id
        return True

    def change_mobile(self, contact: ContactRecord, mobile: str) -> bool:
        other = self._by_mobile.get(mobile)
        if other is not None and other != contact.id:
            return False
        if contact.mobile is not None:
            self._by_mobile.pop(contact.mobile, None)
        contact.mobile = mobile
        self._by_mobile[mobile] = contact.id
        return True

    def ids_after(self, after_id: int) -> Iterator[ContactRecord]:
        """Contacts with an id above `after_id`, ascending."""
        start = bisect.bisect_right(self._ids, after_id)
        for index in range(start, len(self._ids)):
            yield self.contacts[self._ids[index]]

    def count(self) -> int:
        return len(self.contacts)

    # Suppressions ---------------------------------------------------------------------------

    def suppress(self, contact: ContactRecord, reason: str, when: float) -> None:
        """Suppress the contact account-wide (its list memberships become suppressed)."""
        contact.status = reason
        contact.updated = when
        for book_id in contact.books:
            contact.books[book_id] = "suppressed"
        record = SuppressionRecord(contact.id, when, reason)
        bisect.insort_right(self.suppressions, record, key=lambda s: s.date)

    def suppressed_since(self, since: float, reason: str | None = None) -> list[SuppressionRecord]:
        return since_date(self.suppressions, since, reason)

    # Address books --------------------------------------------------------------------------

    def _take_book_id(self) -> int:
        book_id = self._next_book_id
        self._next_book_id += 1
        return book_id

    def add_book(self, name: str, visibility: str = "Private") -> AddressBookRecord:
        book = AddressBookRecord(self._take_book_id(), name, visibility)
        self.books[book.id] = book
        return book

    def book_named(self, name: str) -> AddressBookRecord | None:
        lowered = name.lower()
        return next((b for b in self.books.values() if b.name.lower() == lowered), None)

    def join(self, book: AddressBookRecord, contact: ContactRecord, when: float) -> bool:
        """Add the contact to the book; False if it was already a member."""
        if contact.id in book.members:
            return False
        book.members[contact.id] = None
        contact.books[book.id] = (
            "suppressed" if contact.status in SUPPRESSED_STATUSES else "subscribed"
        )
        contact.updated = when
        return True

    def leave(self, book: AddressBookRecord, contact_id: int, when: float) -> bool:
        """Remove the contact from the book (it stays in the account)."""
        if contact_id not in book.members:
            return False
        del book.members[contact_id]
        contact = self.contacts[contact_id]
        contact.books.pop(book.id, None)
        contact.updated = when
        return True

    def unsubscribe_from_book(
        self, book: AddressBookRecord, contact: ContactRecord, when: float
    ) -> None:
        """The contact unsubscribes from one book only."""
        self.join(book, contact, when)
        contact.books[book.id] = "suppressed"
        contact.updated = when
        record = SuppressionRecord(contact.id, when, "Unsubscribed")
        bisect.insort_right(book.unsubscribes, record, key=lambda s: s.date)

    def delete_book(self, book: AddressBookRecord) -> None:
        for contact_id in book.members:
            self.contacts[contact_id].books.pop(book.id, None)
        del self.books[book.id]


def since_date(
    records: list[SuppressionRecord], since: float, reason: str | None = None
) -> list[SuppressionRecord]:
    """The records (kept in date order) dated at or after `since`, optionally of one reason."""
    start = bisect.bisect_left(records, since, key=lambda s: s.date)
    rows = records[start:]
    return rows if reason is None else [s for s in rows if s.reason == reason]
