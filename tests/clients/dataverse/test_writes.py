"""Single-record writes over real HTTP: create (204 + OData-EntityId, or 201 with the record),
upsert by alternate key, ETag-conditional updates, deletes, and lost answers."""

from __future__ import annotations

import pytest

from sandbox.dataverse import COLLECTION_TEMPLATE, RECORD_TEMPLATE
from shared.clients import DataverseClient
from shared.errors import ApiError, ConcurrencyConflict, OutcomeUnknown, PreconditionFailed
from tests.fixtures.sandboxes import DataverseSandbox

EMAIL = {"emailaddress1": "o'brien@example.com"}


def test_create_returns_the_id_from_odata_entityid(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    created = dataverse_client.create("contacts", {"firstname": "Ada", "lastname": "Lovelace"})

    assert created.record is None and created.etag is None
    row = dataverse_sandbox.state.row("contact", created.id)
    assert row is not None and row["fullname"] == "Ada Lovelace"
    (call,) = dataverse_sandbox.state.counters.calls("POST", COLLECTION_TEMPLATE)
    assert call.status == 204 and "prefer" not in call.headers


def test_create_with_return_representation_gets_the_record(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    created = dataverse_client.create(
        "contacts",
        {"firstname": "Grace", "lastname": "Hopper"},
        return_representation=True,
        select=["fullname", "statecode"],
    )

    assert created.record is not None
    assert created.record["fullname"] == "Grace Hopper"
    assert created.record["statecode"] == 0
    assert created.record["@odata.context"].endswith(
        "$metadata#contacts(fullname,statecode)/$entity"
    )
    assert created.etag == dataverse_sandbox.state.row("contact", created.id)["@odata.etag"]  # type: ignore[index]
    (call,) = dataverse_sandbox.state.counters.calls("POST", COLLECTION_TEMPLATE)
    assert call.status == 201
    assert call.headers["prefer"] == "return=representation"
    assert call.query == "$select=fullname,statecode"


def test_upsert_by_alternate_key_creates_then_updates(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    first = dataverse_client.upsert("contacts", EMAIL, {"firstname": "Pat", "lastname": "O'Brien"})
    second = dataverse_client.upsert("contacts", EMAIL, {"jobtitle": "Owner"})
    # The key is compared like Dataverse does: case-insensitively.
    third = dataverse_client.upsert(
        "contacts", {"emailaddress1": "O'Brien@Example.com"}, {"lastname": "OBrien"}
    )

    assert first == second == third
    table = dataverse_sandbox.state.table("contact")
    assert len(table) == 1
    row = dataverse_sandbox.state.row("contact", first or "")
    assert row is not None
    assert (row["emailaddress1"], row["jobtitle"], row["fullname"]) == (
        "o'brien@example.com",
        "Owner",
        "Pat OBrien",
    )
    calls = dataverse_sandbox.state.counters.calls("PATCH", RECORD_TEMPLATE)
    assert calls[0].path == "/api/data/v9.2/contacts(emailaddress1='o''brien@example.com')"
    assert all("if-match" not in c.headers for c in calls)


def test_create_only_upsert_of_an_existing_key_is_a_precondition_failure(
    dataverse_client: DataverseClient,
) -> None:
    dataverse_client.upsert("contacts", EMAIL, {"lastname": "One"})

    with pytest.raises(
        PreconditionFailed, match="A record with matching key values already exists"
    ):
        dataverse_client.upsert("contacts", EMAIL, {"lastname": "Two"}, create_only=True)


def test_stale_etag_is_refused_with_the_service_message(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    contact_id = dataverse_sandbox.state.insert("contact", {"lastname": "Original", **EMAIL})
    read = dataverse_client.retrieve("contacts", contact_id, ["lastname"])
    assert read is not None
    etag = read["@odata.etag"]
    dataverse_sandbox.state.update("contact", contact_id, {"lastname": "Changed in CRM"})

    with pytest.raises(PreconditionFailed) as caught:
        dataverse_client.update("contacts", contact_id, {"lastname": "Ours"}, if_match=etag)

    error = caught.value
    assert isinstance(error, ConcurrencyConflict)
    assert error.status == 412
    assert (
        "The version of the existing record doesn't match the RowVersion property provided."
        in str(error)
    )
    assert dataverse_sandbox.state.row("contact", contact_id)["lastname"] == "Changed in CRM"  # type: ignore[index]

    fresh = dataverse_client.retrieve("contacts", EMAIL, ["lastname"])
    assert fresh is not None
    dataverse_client.update(
        "contacts", contact_id, {"lastname": "Ours"}, if_match=fresh["@odata.etag"]
    )
    assert dataverse_sandbox.state.row("contact", contact_id)["lastname"] == "Ours"  # type: ignore[index]


def test_update_never_creates(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    missing = "00000000-0000-4000-8000-000000000001"
    with pytest.raises(ApiError) as caught:
        dataverse_client.update("contacts", missing, {"lastname": "Ghost"})

    assert caught.value.status == 404
    assert f"contact With Id = {missing} Does Not Exist" in str(caught.value)
    assert len(dataverse_sandbox.state.table("contact")) == 0
    (call,) = dataverse_sandbox.state.counters.calls("PATCH", RECORD_TEMPLATE)
    assert call.headers["if-match"] == "*"


def test_delete_and_retrieve(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    contact_id = dataverse_sandbox.state.insert("contact", {"lastname": "Short-lived"})
    dataverse_client.delete("contacts", contact_id)

    assert dataverse_client.retrieve("contacts", contact_id, ["lastname"]) is None
    with pytest.raises(ApiError) as caught:
        dataverse_client.delete("contacts", contact_id)
    assert caught.value.status == 404 and caught.value.code == "0x80040217"


def test_lost_answer_to_a_create_is_not_resent(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.faults.lose_response_next()

    with pytest.raises(OutcomeUnknown) as caught:
        dataverse_client.create("contacts", {"lastname": "Once"})

    assert str(caught.value).startswith("Dataverse: POST contacts got no answer")
    assert len(dataverse_sandbox.state.table("contact")) == 1
    assert dataverse_sandbox.state.counters.count("POST", COLLECTION_TEMPLATE) == 1


def test_create_refused_before_it_ran_is_retried(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.faults.fail_next(503)

    dataverse_client.create("contacts", {"lastname": "Twice asked, once made"})

    assert len(dataverse_sandbox.state.table("contact")) == 1


def test_invalid_values_come_back_as_api_errors(dataverse_client: DataverseClient) -> None:
    with pytest.raises(ApiError) as caught:
        dataverse_client.create("contacts", {"lastname": "X", "nosuchcolumn": 1})
    assert caught.value.status == 400
    assert (
        "The property 'nosuchcolumn' does not exist on type 'Microsoft.Dynamics.CRM.contact'"
        in str(caught.value)
    )

    with pytest.raises(ApiError) as caught:
        dataverse_client.create("leads", {"lastname": "X", "statecode": 2, "statuscode": 1})
    assert "1 is not a valid status code for state code 2" in str(caught.value)
