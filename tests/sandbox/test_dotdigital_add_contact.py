"""`POST /v2/address-books/{addressBookId}/contacts` (one contact at a time) in the Dotdigital
sandbox, raw HTTP. Valid exchanges go through the OpenAPI-validating transport; refusals use a
plain client (the published spec documents 2xx answers only)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.dotdigital import ADDRESS_BOOK_CONTACTS, DotdigitalState
from tests.fixtures.sandboxes import DotdigitalSandbox


@pytest.fixture
def state(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def http(dotdigital_http: httpx.Client) -> httpx.Client:
    """Validated against the OpenAPI; authenticated; based on the account's region."""
    return dotdigital_http


@pytest.fixture
def plain(dotdigital_sandbox: DotdigitalSandbox) -> Iterator[httpx.Client]:
    auth = (dotdigital_sandbox.api_user, dotdigital_sandbox.password.get_secret_value())
    with httpx.Client(auth=auth, base_url=dotdigital_sandbox.api_endpoint) as client:
        yield client


def test_adding_a_new_then_a_known_contact(http: httpx.Client, state: DotdigitalState) -> None:
    book = state.store.add_book("Newsletter")
    path = f"/v2/address-books/{book.id}/contacts"
    created = http.post(
        path,
        json={
            "email": "ada@example.com",
            "optInType": "Single",
            "emailType": "Html",
            "dataFields": [
                {"key": "FIRSTNAME", "value": "Ada"},
                {"key": "lastname", "value": "Lovelace"},  # any casing, as imports
            ],
        },
    )
    assert created.status_code == 200
    body = created.json()
    ada = state.store.by_email("ada@example.com")
    assert ada is not None
    assert body["id"] == ada.id
    assert body["email"] == "ada@example.com"
    assert {"key": "LASTNAME", "value": "Lovelace"} in body["dataFields"]
    assert ada.data == {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace"}
    assert list(book.members) == [ada.id]

    again = http.post(
        path,
        json={"email": "ADA@example.com", "dataFields": [{"key": "FIRSTNAME", "value": "Augusta"}]},
    )
    assert again.json()["id"] == ada.id  # the same contact, updated, still one member
    assert ada.data == {"FIRSTNAME": "Augusta", "LASTNAME": "Lovelace"}
    assert list(book.members) == [ada.id]
    assert state.store.count() == 1
    assert state.counters.count("POST", ADDRESS_BOOK_CONTACTS, status=200) == 2


def test_an_existing_contact_joins_another_book(http: httpx.Client, state: DotdigitalState) -> None:
    first, second = state.store.add_book("First"), state.store.add_book("Second")
    http.post(f"/v2/address-books/{first.id}/contacts", json={"email": "bo@example.com"})
    http.post(f"/v2/address-books/{second.id}/contacts", json={"email": "bo@example.com"})
    bo = state.store.by_email("bo@example.com")
    assert bo is not None
    assert bo.books == {first.id: "subscribed", second.id: "subscribed"}


@pytest.mark.parametrize(
    ("book", "body", "status", "code"),
    [
        ("missing", {"email": "a@example.com"}, 404, "ERROR_ADDRESSBOOK_NOT_FOUND"),
        ("test", {"email": "a@example.com"}, 400, "ERROR_ADDRESSBOOK_NOTWRITABLE"),
        ("book", {"email": "not-an-email"}, 400, "ERROR_CONTACT_INVALID"),
        ("book", {"firstName": "No email"}, 400, "ERROR_CONTACT_INVALID"),
        (
            "book",
            {"email": "a@example.com", "dataFields": [{"key": "NOPE", "value": 1}]},
            400,
            "ERROR_DATAFIELD_NOTFOUND",
        ),
        ("book", {"email": "gone@example.com"}, 400, "ERROR_CONTACT_SUPPRESSED"),
    ],
)
def test_refusals_change_nothing(
    plain: httpx.Client,
    state: DotdigitalState,
    book: str,
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    state.store.global_suppressions.add("gone@example.com")
    writable = state.store.add_book("Book")
    test_book = state.store.book_named("Test")
    assert test_book is not None
    book_id = {"missing": 999_999, "test": test_book.id, "book": writable.id}[book]
    response = plain.post(f"/v2/address-books/{book_id}/contacts", json=body)
    assert response.status_code == status
    assert response.json()["message"].endswith(code)
    assert state.store.count() == 0
    assert writable.members == {}
