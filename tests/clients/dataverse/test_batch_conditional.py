"""Conditional writes inside `$batch`: each part's `If-Match` / `If-None-Match` is honoured on
its own, with Dataverse's 412 messages, as ContactOptIn and Unsubscribes rely on."""

from __future__ import annotations

from shared.clients import DataverseClient
from shared.clients.dataverse.batch import BatchRequest
from tests.fixtures.sandboxes import DataverseSandbox

STALE = "The version of the existing record doesn't match the RowVersion property provided."
EXISTS = "A record with matching key values already exists."


def test_a_stale_etag_in_a_batch_part_is_refused_and_the_other_parts_are_applied(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    first = state.insert("contact", {"lastname": "First", "emailaddress1": "a@example.com"})
    second = state.insert("contact", {"lastname": "Second", "emailaddress1": "b@example.com"})
    stale = state.row("contact", first)
    fresh = state.row("contact", second)
    assert stale is not None and fresh is not None
    state.update("contact", first, {"dms_optintype": 4})  # written in between

    outcome = dataverse_client.execute_batch(
        [
            BatchRequest.update("contacts", first, {"dms_optintype": 2},
                                if_match=stale["@odata.etag"]),
            BatchRequest.update("contacts", second, {"dms_optintype": 2},
                                if_match=fresh["@odata.etag"]),
        ]
    )  # fmt: skip

    refused, applied = outcome.results
    assert (refused.status, refused.error_message) == (412, STALE)
    assert applied.status == 204
    assert (state.row("contact", first) or {})["dms_optintype"] == 4
    assert (state.row("contact", second) or {})["dms_optintype"] == 2


def test_a_create_only_upsert_in_a_batch_part_meets_the_row_already_there(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    row_id = "3f1c2b6e-5a7d-4e8f-9b0a-1c2d3e4f5a6b"
    create_only = BatchRequest(
        "PATCH",
        f"dms_listunsubscribers({row_id})",
        {"dms_email": "a@example.com"},
        headers={"If-None-Match": "*"},
    )

    first = dataverse_client.execute_batch([create_only]).results[0]
    second = dataverse_client.execute_batch([create_only]).results[0]

    assert first.ok
    assert (second.status, second.error_message) == (412, EXISTS)
    assert len(dataverse_sandbox.state.table("dms_listunsubscriber")) == 1
