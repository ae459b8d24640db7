"""v2 address books: list/create/get/delete, their contacts, adding one contact, removing
members (single and the bulk job), per-book unsubscribes.

Status codes: create 201 (the generated spec; the docs say 200), delete 204 (the docs; the
generated spec says 200 with an untyped body), single removal 204, bulk removal 202
`{id, status: Started}` then `GET /v2/contacts/deletion/{id}` Started -> Completed.
Errors: 404 `Error: ERROR_ADDRESSBOOK_NOT_FOUND` / `Error: ERROR_CONTACT_NOT_FOUND`;
400 `ERROR_ADDRESSBOOK_DUPLICATE`, `ERROR_ADDRESSBOOK_INVALID`, `ERROR_ADDRESSBOOK_NOTWRITABLE`
(the reserved "Test" book).

Adding one contact (`POST /v2/address-books/{addressBookId}/contacts`, body `ApiContact`)
answers 200 with the contact (the generated spec). A new email creates the contact; a known one
is updated (data fields given, opt-in and email type) and joins the book. INFER (the docs are
silent): an invalid email is 400 `ERROR_CONTACT_INVALID`, an unknown data field 400
`ERROR_DATAFIELD_NOTFOUND`, a globally suppressed email 400 `ERROR_CONTACT_SUPPRESSED`; the
contact's status is left as it is (no resubscribe).
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render
from sandbox.dotdigital.contacts import EMAIL, RESERVED_BOOK_NAMES, AddressBookRecord, since_date
from sandbox.dotdigital.imports import EMAIL_TYPES, OPT_IN_TYPES
from sandbox.dotdigital.state import DeletionJob, DotdigitalState
from sandbox.dotdigital.wire import (
    BadParameter,
    bool_param,
    json_response,
    no_content,
    parse_date,
    read_json,
    select_skip,
    v2_error,
)

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

ADDRESS_BOOKS = "/v2/address-books"
ADDRESS_BOOK = "/v2/address-books/{id}"
ADDRESS_BOOK_CONTACTS = "/v2/address-books/{addressBookId}/contacts"
ADDRESS_BOOK_CONTACT = "/v2/address-books/{addressBookId}/contacts/{contactId}"
ADDRESS_BOOK_CONTACTS_DELETE = "/v2/address-books/{addressBookId}/contacts/delete"
CONTACT_DELETION = "/v2/contacts/deletion/{deletionRequestId}"
ADDRESS_BOOK_UNSUBSCRIBED_SINCE = (
    "/v2/address-books/{addressBookId}/contacts/unsubscribed-since/{date}"
)

BOOK_NOT_FOUND = "Error: ERROR_ADDRESSBOOK_NOT_FOUND"
NOT_WRITABLE = "Address book cannot be written to via the API. ERROR_ADDRESSBOOK_NOTWRITABLE"
CONTACT_INVALID = "The contact is not valid. ERROR_CONTACT_INVALID"


def path_int(request: Request, name: str) -> int | None:
    raw = str(request.path_params.get(name, ""))
    return int(raw) if raw.isdigit() else None


def path_date(request: Request) -> float:
    when = parse_date(str(request.path_params.get("date", "")))
    if when is None:
        raise BadParameter("The date must be an ISO 8601 date or date-time.")
    return when


def page(request: Request, state: DotdigitalState) -> tuple[int, int]:
    """(start, stop) of a v2 page; `ignore_skip` (a paging fault) always serves the first."""
    select, skip = select_skip(request)
    if state.ignore_skip:
        skip = 0
    return skip, skip + select


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:

    def book_or_404(request: Request, key: str) -> AddressBookRecord | Response:
        book_id = path_int(request, key)
        book = None if book_id is None else state.store.books.get(book_id)
        return v2_error(404, BOOK_NOT_FOUND) if book is None else book

    async def list_books(request: Request) -> Response:
        start, stop = page(request, state)
        with state.lock:
            books = list(state.store.books.values())[start:stop]
            return json_response([render.address_book(b) for b in books])

    async def create_book(request: Request) -> Response:
        ok, body = await read_json(request)
        if not ok or not isinstance(body, dict):
            return v2_error(400, "The address book is not a JSON object. ERROR_ADDRESSBOOK_INVALID")
        fields = {str(k).lower(): v for k, v in body.items()}
        name = fields.get("name")
        visibility = str(fields.get("visibility") or "Private")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
            return v2_error(400, "The name must be 1 to 128 characters. ERROR_ADDRESSBOOK_INVALID")
        if visibility not in ("Private", "Public"):
            return v2_error(400, "Visibility must be Private or Public. ERROR_ADDRESSBOOK_INVALID")
        with state.lock:
            if state.store.book_named(name) is not None or name.lower() in (
                n.lower() for n in RESERVED_BOOK_NAMES
            ):
                return v2_error(
                    400, "Address book name already exists. ERROR_ADDRESSBOOK_DUPLICATE"
                )
            return json_response(render.address_book(state.store.add_book(name, visibility)), 201)

    async def get_book(request: Request) -> Response:
        with state.lock:
            book = book_or_404(request, "id")
            if isinstance(book, Response):
                return book
            return json_response(render.address_book(book))

    async def delete_book(request: Request) -> Response:
        with state.lock:
            book = book_or_404(request, "id")
            if isinstance(book, Response):
                return book
            if not book.writable:
                return v2_error(400, NOT_WRITABLE)
            state.store.delete_book(book)
            return no_content()

    async def book_contacts(request: Request) -> Response:
        full = bool_param(request, "withFullData")
        with state.lock:
            book = book_or_404(request, "addressBookId")
            if isinstance(book, Response):
                return book
            start, stop = page(request, state)
            names = [f.name for f in state.data_fields] if full else None
            members = islice(book.members, start, stop)
            return json_response(
                [render.v2_contact(state.store.contacts[i], names) for i in members]
            )

    async def add_contact(request: Request) -> Response:
        ok, body = await read_json(request)
        if not ok or not isinstance(body, dict):
            return v2_error(400, CONTACT_INVALID)
        fields = {str(k).lower(): v for k, v in body.items()}
        email = fields.get("email")
        if not isinstance(email, str) or not EMAIL.match(email.strip()):
            return v2_error(400, CONTACT_INVALID)
        email = email.strip()
        pairs = fields.get("datafields") or []
        if not isinstance(pairs, list) or not all(
            isinstance(p, dict) and isinstance(p.get("key"), str) for p in pairs
        ):
            return v2_error(400, CONTACT_INVALID)
        opt_in = OPT_IN_TYPES.get(str(fields.get("optintype") or "").lower())
        email_type = EMAIL_TYPES.get(str(fields.get("emailtype") or "").lower())
        with state.lock:
            book = book_or_404(request, "addressBookId")
            if isinstance(book, Response):
                return book
            if not book.writable:
                return v2_error(400, NOT_WRITABLE)
            values: dict[str, object] = {}
            for pair in pairs:
                name = state.field_name(pair["key"])
                if name is None:
                    return v2_error(
                        400, f"Data field {pair['key']} does not exist. ERROR_DATAFIELD_NOTFOUND"
                    )
                values[name] = pair.get("value")
            if email.lower() in state.store.global_suppressions:
                return v2_error(400, "The contact is suppressed. ERROR_CONTACT_SUPPRESSED")
            now = state.now()
            contact = state.store.by_email(email)
            if contact is None:
                contact = state.store.add_contact(email, when=now)
            for name, value in values.items():
                if value is None:
                    contact.data.pop(name, None)
                else:
                    contact.data[name] = value
            contact.opt_in_type = opt_in or contact.opt_in_type
            contact.email_type = email_type or contact.email_type
            contact.updated = now
            state.store.join(book, contact, now)
            names = [f.name for f in state.data_fields]
            return json_response(render.v2_contact(contact, names))

    async def remove_contact(request: Request) -> Response:
        with state.lock:
            book = book_or_404(request, "addressBookId")
            if isinstance(book, Response):
                return book
            if not book.writable:
                return v2_error(400, NOT_WRITABLE)
            contact_id = path_int(request, "contactId")
            if contact_id is None or contact_id not in state.store.contacts:
                return v2_error(404, "Error: ERROR_CONTACT_NOT_FOUND")
            state.store.leave(book, contact_id, state.now())
            return no_content()

    async def remove_contacts(request: Request) -> Response:
        ok, body = await read_json(request)
        if (
            not ok
            or not isinstance(body, list)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in body)
        ):
            return v2_error(
                400, "The body must be an array of contact ids. ERROR_PARAMETER_INVALID"
            )
        with state.lock:
            book = book_or_404(request, "addressBookId")
            if isinstance(book, Response):
                return book
            if not book.writable:
                return v2_error(400, NOT_WRITABLE)
            job = DeletionJob(state.new_guid(), book.id, list(body))
            state.deletions[job.id] = job
            return json_response({"id": job.id, "status": job.status}, 202)

    async def deletion_status(request: Request) -> Response:
        with state.lock:
            job = state.deletions.get(str(request.path_params["deletionRequestId"]).lower())
            if job is None:
                return v2_error(404, "The deletion request was not found. ERROR_PARAMETER_INVALID")
            state.poll_deletion(job)
            return json_response({"id": job.id, "status": job.status})

    async def book_unsubscribes(request: Request) -> Response:
        since = path_date(request)
        with state.lock:
            book = book_or_404(request, "addressBookId")
            if isinstance(book, Response):
                return book
            start, stop = page(request, state)
            rows = since_date(book.unsubscribes, since)[start:stop]
            return json_response(
                [render.suppression(r, state.store.contacts[r.contact_id]) for r in rows]
            )

    return [
        Route(ADDRESS_BOOKS, endpoint(list_books), methods=["GET"]),
        Route(ADDRESS_BOOKS, endpoint(create_book), methods=["POST"]),
        Route(ADDRESS_BOOK, endpoint(get_book), methods=["GET"]),
        Route(ADDRESS_BOOK, endpoint(delete_book), methods=["DELETE"]),
        Route(ADDRESS_BOOK_CONTACTS, endpoint(book_contacts), methods=["GET"]),
        Route(ADDRESS_BOOK_CONTACTS, endpoint(add_contact), methods=["POST"]),
        Route(ADDRESS_BOOK_CONTACTS_DELETE, endpoint(remove_contacts), methods=["POST"]),
        Route(ADDRESS_BOOK_UNSUBSCRIBED_SINCE, endpoint(book_unsubscribes), methods=["GET"]),
        Route(ADDRESS_BOOK_CONTACT, endpoint(remove_contact), methods=["DELETE"]),
        Route(CONTACT_DELETION, endpoint(deletion_status), methods=["GET"]),
    ]
