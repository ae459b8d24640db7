"""The Dotdigital sandbox speaks the protocol: raw HTTP, no product client. Where a request is
valid per Dotdigital's OpenAPI, the exchange goes through the validating transport; requests
that break the spec on purpose (to see the service refuse them) use a plain client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital import (
    ADDRESS_BOOK_CONTACTS,
    CONTACTS,
    IMPORT,
    IMPORT_STATUS,
    DotdigitalState,
    SeedSpec,
)
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


IMPORT_BODY = {
    "mergeOption": "overwrite",
    "contacts": [
        {
            "matchIdentifier": "email",
            "identifiers": {"email": "jane.doe@example.com"},
            "dataFields": {"firstName": "Jane", "lastName": "Doe"},
            "channelProperties": {"email": {"emailType": "html", "optInType": "single"}},
        },
        {"matchIdentifier": "email", "identifiers": {"email": "bob@example@com"}},
    ],
}


def test_import_job_lifecycle_on_the_wire(http: httpx.Client, state: DotdigitalState) -> None:
    accepted = http.put("/contacts/v3/import", json=IMPORT_BODY)
    assert accepted.status_code == 202
    (key,) = accepted.json()
    import_id = accepted.json()["importId"]
    assert key == "importId"

    pending = http.get(f"/contacts/v3/import/{import_id}")
    assert pending.json() == {"importId": import_id, "status": "NotFinished"}
    done = http.get(f"/contacts/v3/import/{import_id}").json()

    jane = state.store.by_email("jane.doe@example.com")
    assert jane is not None
    assert done == {
        "importId": import_id,
        "status": "Finished",
        "summary": {
            "newContacts": 1,
            "updatedContacts": 0,
            "globallySuppressed": 0,
            "invalidEntries": 1,
            "duplicateIdentifiers": 0,
        },
        "created": [{"contactId": jane.id, "identifiers": {"email": "jane.doe@example.com"}}],
        "updated": [],
        "failures": [
            {
                "matchIdentifier": "email",
                "identifiers": {"email": "bob@example@com"},
                "failures": [
                    {"failureCode": "InvalidEmail", "description": "Invalid value for 'email'"}
                ],
            }
        ],
    }
    assert jane.data == {"FIRSTNAME": "Jane", "LASTNAME": "Doe"}  # names matched any casing
    assert http.get(f"/contacts/v3/import/{import_id}").json() == done  # final: stays so


def test_imports_applied_without_polling_as_real_dotdigital_does(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.apply_imports_without_polling = True
    state.import_seconds = 30
    import_id = http.put("/contacts/v3/import", json=IMPORT_BODY).json()["importId"]
    assert state.store.by_email("jane.doe@example.com") is None  # still processing

    sandbox_clock.advance(30)
    http.get("/v2/data-fields")  # any request: nobody polls the import

    assert state.store.by_email("jane.doe@example.com") is not None
    done = http.get(f"/contacts/v3/import/{import_id}").json()
    assert done["status"] == "Finished" and done["summary"]["newContacts"] == 1


def test_failed_import_switch(http: httpx.Client, state: DotdigitalState) -> None:
    state.fail_next_import("RejectedByWatchdog")
    import_id = http.put("/contacts/v3/import", json=IMPORT_BODY).json()["importId"]
    state.complete_imports()
    assert http.get(f"/contacts/v3/import/{import_id}").json() == {
        "importId": import_id,
        "status": "RejectedByWatchdog",
    }
    assert state.store.count() == 0


def test_the_26th_active_import_is_refused(http: httpx.Client, state: DotdigitalState) -> None:
    state.import_not_finished_polls = 10
    for _ in range(25):
        assert http.put("/contacts/v3/import", json=IMPORT_BODY).status_code == 202
    refused = http.put("/contacts/v3/import", json=IMPORT_BODY)
    assert refused.status_code == 429
    assert refused.json()["errorCode"] == "contacts:tooManyActiveImports"
    assert state.active_imports() == 25


def test_imports_become_inactive_with_sandbox_time(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.occupy_import_slots(25, seconds=30)
    assert http.put("/contacts/v3/import", json=IMPORT_BODY).status_code == 429
    sandbox_clock.advance(30)
    assert http.put("/contacts/v3/import", json=IMPORT_BODY).status_code == 202


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", "contacts:badJson"),
        (b'{"contacts": []}', "contacts:invalidContacts"),
        (b'{"mergeOption": "sometimes", "contacts": [{}]}', "contacts:invalidContacts"),
    ],
)
def test_bad_import_bodies_get_the_v3_envelope(
    plain: httpx.Client, content: bytes, code: str
) -> None:
    response = plain.put(
        "/contacts/v3/import", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == code and body["description"]


def test_v3_pages_link_to_the_next_one(http: httpx.Client, state: DotdigitalState) -> None:
    seeded = state.populate(SeedSpec(contacts=25))
    first = http.get("/contacts/v3", params={"limit": 10}).json()
    links = first["_links"]
    assert set(links) == {"self", "first", "next"}
    assert [c["contactId"] for c in first["_items"]] == list(seeded.contact_ids[:10])
    assert set(first["_items"][0]) == {"contactId", "status", "created", "updated", "identifiers"}

    second = http.get(links["next"]["link"]).json()  # the link carries limit and marker
    assert [c["contactId"] for c in second["_items"]] == list(seeded.contact_ids[10:20])
    third = http.get(
        "/contacts/v3", params={"limit": 10, "marker": second["_links"]["next"]["marker"]}
    )
    assert [c["contactId"] for c in third.json()["_items"]] == list(seeded.contact_ids[20:])
    assert "next" not in third.json()["_links"]


def test_v3_filter_errors(http: httpx.Client, plain: httpx.Client) -> None:
    both = http.get(
        "/contacts/v3",
        params={"~modified": "gte::2024-01-01T00:00:00Z", "~created": "gte::2024-01-01T00:00:00Z"},
    )
    assert both.status_code == 400
    assert both.json()["errorCode"] == "contacts:invalidFilter"
    marker = http.get("/contacts/v3", params={"marker": "bm90LWEtbWFya2Vy"})
    assert marker.json()["errorCode"] == "contacts:invalidMarker"
    no_z = plain.get("/contacts/v3", params={"~modified": "gte::2024-01-01T00:00:00"})
    assert no_z.json() == {
        "errorCode": "contacts:invalidFilter",
        "description": "The filter value 'gte::2024-01-01T00:00:00' is invalid",
    }


def test_v3_rate_limit_answers_429_with_headers_and_the_v3_envelope(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.set_rate_limit(1, window_seconds=60)
    assert http.get("/contacts/v3").status_code == 200
    limited = http.get("/contacts/v3")
    assert limited.status_code == 429
    assert limited.headers["x-ratelimit-reset"] == str(int(sandbox_clock.now()) + 60)
    assert limited.json()["errorCode"] == "tooManyRequests"

    state.legacy_rate_limit = True
    legacy = http.get("/contacts/v3")
    assert (legacy.status_code, legacy.json()["errorCode"]) == (400, "ERROR_APIUSAGE_EXCEEDED")


def test_v2_select_outside_its_range_is_parameter_invalid(
    http: httpx.Client, state: DotdigitalState
) -> None:
    seeded = state.populate(SeedSpec(contacts=3, address_books=(3,)))
    book_id = seeded.address_book_ids[0]
    for params in ({"select": 0}, {"select": 1001}, {"skip": -1}):
        response = http.get(f"/v2/address-books/{book_id}/contacts", params=params)
        assert response.status_code == 400
        assert response.json()["message"].endswith(" ERROR_PARAMETER_INVALID")
    ok = http.get(f"/v2/address-books/{book_id}/contacts", params={"select": 2, "skip": 2})
    assert len(ok.json()) == 1


def test_new_routes_are_counted_and_faulted(http: httpx.Client, state: DotdigitalState) -> None:
    state.faults.fail_next(500)
    failed = http.get("/contacts/v3/import/abc")
    assert failed.status_code == 500
    assert failed.json()["errorCode"] == "internalServerError"
    state.faults.fail_next(503)
    assert http.get("/v2/address-books/1/contacts").json() == {
        "message": "The service is unavailable."
    }
    routes = state.counters.by_route()
    assert routes[("GET", IMPORT_STATUS)] == 1
    assert routes[("GET", ADDRESS_BOOK_CONTACTS)] == 1
    http.get("/contacts/v3")
    http.put("/contacts/v3/import", json=IMPORT_BODY)
    assert state.counters.count("GET", CONTACTS) == 1
    assert state.counters.count("PUT", IMPORT, status=202) == 1


def test_scheduled_send_and_summary(
    http: httpx.Client, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    seeded = state.populate(SeedSpec(contacts=5, address_books=(5,)))
    campaign = state.add_campaign("Later")
    tomorrow = sandbox_clock.now() + 86_400
    body = {
        "campaignId": campaign.id,
        "addressBookIds": seeded.address_book_ids,
        "sendDate": datetime.fromtimestamp(tomorrow, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    response = http.post("/v2/campaigns/send", json=body)
    assert response.status_code == 202
    assert response.json()["status"] == "Scheduled"
    assert campaign.activities == {}
    assert http.get(f"/v2/campaigns/{campaign.id}/summary").json()["numSent"] == 0
