"""Address books (lists), v2: list, create, get, delete; their contacts; removing members
(one at a time, or the bulk `POST .../contacts/delete` job polled through
`GET /v2/contacts/deletion/{id}`); per-book unsubscribes since a date.

Names are 1..128 characters; "Test" and "All Contacts" are reserved. Creating a name that
exists is `ERROR_ADDRESSBOOK_DUPLICATE` (after a lost answer, the book our own attempt created is
looked up and returned).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.contacts import ListContact, list_contact
from shared.clients.dotdigital.paging import Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import (
    ADDRESS_BOOK_UNSUBSCRIBED_SINCE,
    CONTACT_DELETION_STATUS,
    CREATE_ADDRESS_BOOK,
    DELETE_ADDRESS_BOOK,
    GET_ADDRESS_BOOK,
    LIST_ADDRESS_BOOK_CONTACTS,
    LIST_ADDRESS_BOOKS,
    REMOVE_ADDRESS_BOOK_CONTACT,
    REMOVE_ADDRESS_BOOK_CONTACTS,
)
from shared.clients.dotdigital.suppressions import Suppression, suppression
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import as_list, as_object, int_field, str_field, utc_text
from shared.errors import ApiError, RetriableError

Visibility = Literal["Private", "Public"]
MAX_NAME_LENGTH = 128
REMOVE_CHUNK = 1000  # ids per bulk removal request (our choice; no documented maximum)


class AddressBook(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    visibility: str = "Private"
    contacts: int = 0


def address_book(item: Any) -> AddressBook:
    item = as_object(item, "an address book")
    return AddressBook(
        id=int_field(item, "id"),
        name=str_field(item, "name"),
        visibility=str_field(item, "visibility", "Private"),
        contacts=int_field(item, "contacts"),
    )


class BulkDeletion(BaseModel):
    """A bulk removal job: Started, then Completed or Failed."""

    model_config = ConfigDict(frozen=True)

    id: str
    status: str

    @property
    def done(self) -> bool:
        return self.status != "Started"


def bulk_deletion(item: Any) -> BulkDeletion:
    item = as_object(item, "a contact deletion job")
    return BulkDeletion(id=str_field(item, "id"), status=str_field(item, "status"))


class AddressBooksApi(DotdigitalTransport):
    def iter_address_books(self, *, select: int = 1000, skip: int = 0) -> Paged[AddressBook, int]:
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(LIST_ADDRESS_BOOKS, params={"select": size, "skip": skip})
            return as_list(page, "address books")

        return v2_paged(fetch, address_book, select=select, what="address books", skip=skip)

    def create_address_book(self, name: str, *, visibility: Visibility = "Private") -> AddressBook:
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"an address book name is 1 to {MAX_NAME_LENGTH} characters")
        outcome_unknown: list[bool] = []
        try:
            response = self._call(
                CREATE_ADDRESS_BOOK,
                json={"name": name, "visibility": visibility},
                outcome_unknown=outcome_unknown,
            )
        except ApiError as error:
            if error.code == "ERROR_ADDRESSBOOK_DUPLICATE" and outcome_unknown:
                existing = next((b for b in self.iter_address_books() if b.name == name), None)
                if existing is not None:
                    return existing
            raise
        # The generated spec says 201, the docs 200: any 2xx with the book is success.
        return address_book(response.json())

    def get_address_book(self, address_book_id: int) -> AddressBook:
        return address_book(self._get(GET_ADDRESS_BOOK, path={"id": address_book_id}))

    def delete_address_book(self, address_book_id: int) -> None:
        self._call(DELETE_ADDRESS_BOOK, path={"id": address_book_id})

    def iter_address_book_contacts(
        self,
        address_book_id: int,
        *,
        with_full_data: bool = False,
        select: int = 1000,
        skip: int = 0,
    ) -> Paged[ListContact, int]:
        """The book's contacts (v2 shape) from offset `skip` (0, or a page's `resume`);
        `with_full_data` adds every data field's value."""
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(
                LIST_ADDRESS_BOOK_CONTACTS,
                path={"addressBookId": address_book_id},
                params={"withFullData": with_full_data, "select": size, "skip": skip},
            )
            return as_list(page, "address book contacts")

        what = f"address book {address_book_id}"
        return v2_paged(fetch, list_contact, select=select, what=what, skip=skip)

    def remove_contact_from_address_book(self, address_book_id: int, contact_id: int) -> bool:
        """Remove one contact from a book (the contact stays in the account). False if the
        contact was not found."""
        try:
            self._call(
                REMOVE_ADDRESS_BOOK_CONTACT,
                path={"addressBookId": address_book_id, "contactId": contact_id},
            )
        except ApiError as error:
            if error.code == "ERROR_CONTACT_NOT_FOUND":
                return False
            raise
        return True

    def start_removing_contacts(
        self, address_book_id: int, contact_ids: Iterable[int]
    ) -> BulkDeletion:
        """Start one bulk removal job (at most REMOVE_CHUNK ids)."""
        ids = list(contact_ids)
        if not ids:
            raise ValueError("no contact ids to remove")
        if len(ids) > REMOVE_CHUNK:
            raise ValueError(f"at most {REMOVE_CHUNK} ids per removal; use remove_contacts")
        response = self._call(
            REMOVE_ADDRESS_BOOK_CONTACTS, path={"addressBookId": address_book_id}, json=ids
        )
        return bulk_deletion(response.json())

    def contact_deletion_status(self, deletion_id: str) -> BulkDeletion:
        return bulk_deletion(
            self._get(CONTACT_DELETION_STATUS, path={"deletionRequestId": deletion_id})
        )

    def wait_for_contact_deletion(
        self,
        deletion_id: str,
        *,
        poll_interval_seconds: float = 5.0,
        timeout_seconds: float = 900.0,
    ) -> BulkDeletion:
        deadline = self._now() + timeout_seconds
        while True:
            what = f"Dotdigital: polling contact deletion {deletion_id}"
            self._sleep(poll_interval_seconds, what)
            job = self.contact_deletion_status(deletion_id)
            if job.done:
                return job
            if self._now() >= deadline:
                raise RetriableError(
                    f"Dotdigital contact deletion {deletion_id} was still {job.status} after "
                    f"{timeout_seconds:g} s"
                )

    def remove_contacts_from_address_book(
        self,
        address_book_id: int,
        contact_ids: Iterable[int],
        *,
        poll_interval_seconds: float = 5.0,
        timeout_seconds: float = 900.0,
    ) -> list[BulkDeletion]:
        """Remove many contacts from a book with bulk jobs of REMOVE_CHUNK ids, each waited for.
        Returns the jobs' final states (a Failed job is returned, not raised)."""
        ids = iter(contact_ids)
        jobs: list[BulkDeletion] = []
        while chunk := list(islice(ids, REMOVE_CHUNK)):
            started = self.start_removing_contacts(address_book_id, chunk)
            jobs.append(
                started
                if started.done
                else self.wait_for_contact_deletion(
                    started.id,
                    poll_interval_seconds=poll_interval_seconds,
                    timeout_seconds=timeout_seconds,
                )
            )
        return jobs

    def iter_address_book_unsubscribes_since(
        self, address_book_id: int, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[Suppression, int]:
        """Contacts who unsubscribed from this book since `since` (aware datetime)."""
        check_select(select)
        date = utc_text(since)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(
                ADDRESS_BOOK_UNSUBSCRIBED_SINCE,
                path={"addressBookId": address_book_id, "date": date},
                params={"select": size, "skip": skip},
            )
            return as_list(page, "address book unsubscribes")

        what = "address book unsubscribes"
        return v2_paged(fetch, suppression, select=select, what=what, skip=skip)
