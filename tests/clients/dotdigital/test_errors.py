"""Both Dotdigital error envelopes become typed errors carrying the code: v2
`{"message": "... ERROR_X"}` and v3 `{errorCode, description, details}`."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from sandbox.dotdigital import CONTACTS, DotdigitalState, SeedSpec
from shared.clients import DotdigitalClient, RetryPolicy
from shared.clients.dotdigital.errors import read_error
from shared.errors import ApiError, AuthenticationError, RetriesExhausted
from tests.fixtures.sandboxes import DotdigitalSandbox


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ({"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"}, "Error: ERROR_ADDRESSBOOK_NOT_FOUND",
         "ERROR_ADDRESSBOOK_NOT_FOUND"),
        ({"Message": "Field already exists. ERROR_NON_UNIQUE_DATAFIELD"},
         "Field already exists. ERROR_NON_UNIQUE_DATAFIELD", "ERROR_NON_UNIQUE_DATAFIELD"),
        ({"errorCode": "contacts:invalidFilter", "description": "The filter value 'x' is invalid"},
         "The filter value 'x' is invalid [contacts:invalidFilter]", "contacts:invalidFilter"),
        (
            {
                "errorCode": "contacts:invalidContacts",
                "description": "The request is invalid",
                "details": [
                    {"item": "email", "description": "is not valid"},
                    {"item": "lists", "error": "too many"},  # the docs' example spelling
                ],
            },
            "The request is invalid (email: is not valid; lists: too many) "
            "[contacts:invalidContacts]",
            "contacts:invalidContacts",
        ),
        ({"unexpected": True}, "HTTP 400 Bad Request", None),
    ],
)  # fmt: skip
def test_read_error_understands_both_envelopes(
    body: object, message: str, code: str | None
) -> None:
    error = read_error(httpx.Response(400, json=body))
    assert (error.message, error.code) == (message, code)


def test_read_error_of_a_body_that_is_not_json() -> None:
    error = read_error(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert (error.message, error.code) == ("<html>Bad gateway</html>", None)


def test_v3_filter_error_is_an_api_error_with_its_code(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    with pytest.raises(ApiError) as caught:
        next(client.iter_contacts(list_id=987_654))
    assert (caught.value.status, caught.value.code) == (400, "contacts:invalidFilter")
    assert "The list 987654 does not exist" in str(caught.value)
    assert state.counters.count("GET", CONTACTS, status=400) == 1  # not retried


def test_v3_invalid_id_and_not_found(client: DotdigitalClient, state: DotdigitalState) -> None:
    seeded = state.populate(SeedSpec(contacts=2, address_books=(2,)))
    with pytest.raises(ApiError) as caught:
        client.get_contact("contactId", "abc")
    assert (caught.value.status, caught.value.code) == (400, "contacts:invalidId")

    assert client.get_contact("email", "nobody@example.com") is None
    found = client.get_contact("contactId", seeded.contact_ids[1])
    assert found is not None and found.contact_id == seeded.contact_ids[1]
    assert found.data_fields.keys() == {f.name for f in state.data_fields}
    assert [m.id for m in found.lists] == seeded.address_book_ids
    by_email = client.get_contact("email", found.email or "")
    assert by_email == found


def test_v3_wrong_credentials_are_an_authentication_error(
    dotdigital_sandbox: DotdigitalSandbox,
    validated_dotdigital_http: httpx.Client,
    retry_policy: RetryPolicy,
) -> None:
    wrong = DotdigitalClient(
        dotdigital_sandbox.api_endpoint,
        dotdigital_sandbox.api_user,
        SecretStr("not-the-password-1"),
        http=validated_dotdigital_http,
        retry=retry_policy,
    )
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        next(wrong.iter_contacts())


def test_v3_call_to_the_wrong_region_is_forbidden(
    dotdigital_sandbox: DotdigitalSandbox,
    validated_dotdigital_http: httpx.Client,
    retry_policy: RetryPolicy,
) -> None:
    discovery = DotdigitalClient(
        dotdigital_sandbox.url,
        dotdigital_sandbox.api_user,
        dotdigital_sandbox.password,
        http=validated_dotdigital_http,
        retry=retry_policy,
    )
    with pytest.raises(ApiError) as caught:
        discovery.contact_import_status("2b1c6d1e-0000-4000-8000-000000000000")
    assert (caught.value.status, caught.value.code) == (403, "forbidden")


def test_v3_server_errors_use_the_v3_envelope_and_are_retried(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.faults.set_error_rate(503, 1.0)
    with pytest.raises(RetriesExhausted, match=r"\[serviceUnavailable\]"):
        next(client.iter_contacts())
