"""`$batch` over real HTTP: per-request results, continue-on-error counts, stop-on-error,
atomic change sets with Content-ID references, splitting past 1000 requests, throttling."""

from __future__ import annotations

import pytest

from sandbox.clock import ManualClock
from sandbox.dataverse import BATCH_TEMPLATE
from shared.clients import DataverseClient
from shared.clients.dataverse.batch import BatchRequest, ChangeSet
from shared.errors import OutcomeUnknown
from tests.fixtures.sandboxes import DataverseSandbox

TOO_LONG = "Subject is too long " + "x" * 200


def test_partial_failure_with_continue_on_error_is_counted_per_request(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    account = state.insert("account", {"name": "Contoso"})
    bind = {"regardingobjectid_account_task@odata.bind": f"accounts({account})"}
    requests = [
        BatchRequest.create("tasks", {"subject": TOO_LONG, **bind}),
        BatchRequest.create("tasks", {"subject": "Task 2", **bind}),
        BatchRequest.upsert("contacts", {"emailaddress1": "a@example.com"}, {"lastname": "A"}),
        BatchRequest.update("contacts", "00000000-0000-4000-8000-000000000099", {"lastname": "B"}),
        BatchRequest.get("contacts?$select=fullname"),
    ]

    outcome = dataverse_client.execute_batch(requests)

    assert [r.status for r in outcome.results] == [400, 204, 204, 404, 200]
    assert (outcome.succeeded, outcome.failed, outcome.not_executed) == (3, 2, 0)
    too_long, created, upserted, missing, read = outcome.results
    assert too_long.error_code == "0x80044331"
    assert too_long.error_message == (
        "A validation error occurred.  The length of the 'subject' attribute of the 'task' "
        "entity exceeded the maximum allowed length of '200'."
    )
    assert created.entity_id is not None and state.row("task", created.entity_id)
    assert (
        upserted.entity_id
        == state.table("contact").by_key(("emailaddress1",), ("a@example.com",)).id
    )  # type: ignore[union-attr]
    assert missing.error_message and "Does Not Exist" in missing.error_message
    assert read.body["value"][0]["fullname"] == "A"
    assert outcome.http_requests == 1
    (call,) = state.counters.calls("POST", BATCH_TEMPLATE)
    assert call.headers["prefer"] == "odata.continue-on-error"
    assert call.headers["content-type"].startswith("multipart/mixed; boundary=batch_")


def test_without_continue_on_error_the_batch_stops_at_the_first_failure(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    requests = [
        BatchRequest.create("contacts", {"lastname": "First"}),
        BatchRequest.create("tasks", {"subject": TOO_LONG}),
        BatchRequest.create("contacts", {"lastname": "Never"}),
    ]

    outcome = dataverse_client.execute_batch(requests, continue_on_error=False)

    assert [r.status for r in outcome.results] == [204, 400, None]
    assert (outcome.succeeded, outcome.failed, outcome.not_executed) == (1, 1, 1)
    names = {
        r["lastname"]
        for r in (
            dataverse_sandbox.state.row("contact", i)
            for i in dataverse_sandbox.state.table("contact").rows
        )
        if r
    }
    assert names == {"First"}
    (call,) = dataverse_sandbox.state.counters.calls("POST", BATCH_TEMPLATE)
    assert call.status == 400 and "prefer" not in call.headers


def test_change_set_is_all_or_nothing(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    existing = state.insert("contact", {"lastname": "Before", "emailaddress1": "b@example.com"})
    version_before = state.version
    rows_before = {name: len(table) for name, table in state.tables.items()}
    change_set = ChangeSet(
        [
            BatchRequest.create("accounts", {"name": "Fabrikam"}, content_id="1"),
            BatchRequest.create(
                "contacts", {"lastname": "Linked", "parentcustomerid_account@odata.bind": "$1"}
            ),
            BatchRequest.update("contacts", existing, {"lastname": "After"}),
            BatchRequest.create("tasks", {"subject": TOO_LONG}),
        ]
    )

    outcome = dataverse_client.execute_batch(
        [change_set, BatchRequest.get("accounts?$select=name")]
    )

    results = outcome.results
    assert [r.status for r in results] == [400, 400, 400, 400, 200]
    assert {r.change_set for r in results[:4]} == {0}
    assert results[0].error_code == "0x80044331"
    assert {name: len(table) for name, table in state.tables.items()} == rows_before
    assert state.row("contact", existing)["lastname"] == "Before"  # type: ignore[index]
    assert results[4].body["value"] == []  # the account was rolled back
    assert state.version > version_before  # versions are spent, like rowversion


def test_change_set_with_a_content_id_reference_commits_together(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    change_set = ChangeSet(
        [
            BatchRequest.create("accounts", {"name": "Northwind"}, content_id="1"),
            BatchRequest.create(
                "contacts", {"lastname": "Linked", "parentcustomerid_account@odata.bind": "$1"}
            ),
            BatchRequest("PATCH", "$1", {"telephone1": "555 0100"}),
        ]
    )

    outcome = dataverse_client.execute_batch([change_set])

    account_result, contact_result, patch_result = outcome.results
    assert [r.status for r in outcome.results] == [204, 204, 204]
    assert [r.content_id for r in outcome.results] == ["1", "2", "3"]
    account_id = account_result.entity_id
    assert account_id is not None and contact_result.entity_id is not None
    contact = state.row("contact", contact_result.entity_id)
    assert contact is not None and contact["_parentcustomerid_value"] == account_id
    assert state.row("account", account_id)["telephone1"] == "555 0100"  # type: ignore[index]
    assert patch_result.ok


def test_more_than_a_thousand_requests_go_in_several_batches(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    requests = [
        BatchRequest.upsert(
            "contacts", {"emailaddress1": f"person{i}@example.com"}, {"lastname": f"P{i}"}
        )
        for i in range(2_500)
    ]

    outcome = dataverse_client.execute_batch(requests)

    assert outcome.http_requests == 3
    assert outcome.succeeded == 2_500
    assert [r.index for r in outcome.results] == list(range(2_500))
    assert [r.batch_number for r in outcome.results[::1000]] == [1, 2, 3]
    assert len(dataverse_sandbox.state.table("contact")) == 2_500


def test_change_sets_are_never_split(dataverse_client: DataverseClient) -> None:
    items = [
        ChangeSet([BatchRequest.create("contacts", {"lastname": str(i)}) for i in range(3)])
        for _ in range(4)
    ]
    outcome = dataverse_client.execute_batch(items, max_batch_size=7)

    assert outcome.http_requests == 2  # 6 + 6 requests; a third set would not fit in 7
    assert outcome.succeeded == 12
    with pytest.raises(ValueError, match="does not fit"):
        dataverse_client.execute_batch(items, max_batch_size=2)


def test_429_storm_on_a_batch_is_retried_after_retry_after(
    dataverse_sandbox: DataverseSandbox,
    dataverse_client: DataverseClient,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.throttle_next(3, retry_after=12)
    requests = [BatchRequest.create("contacts", {"lastname": str(i)}) for i in range(5)]

    outcome = dataverse_client.execute_batch(requests)

    assert outcome.succeeded == 5
    assert sandbox_clock.sleeps == [12.0, 12.0, 12.0]
    statuses = [c.status for c in dataverse_sandbox.state.counters.calls("POST", BATCH_TEMPLATE)]
    assert statuses == [429, 429, 429, 200]
    assert len(dataverse_sandbox.state.table("contact")) == 5  # throttled batches ran nothing


def test_lost_answer_to_a_batch_of_creates_is_not_resent(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.faults.lose_response_next()
    requests = [BatchRequest.create("contacts", {"lastname": str(i)}) for i in range(3)]

    with pytest.raises(OutcomeUnknown, match="may or may not have been applied"):
        dataverse_client.execute_batch(requests)

    assert len(dataverse_sandbox.state.table("contact")) == 3  # it did run, once
    assert dataverse_sandbox.state.counters.count("POST", BATCH_TEMPLATE) == 1


def test_lost_answer_to_a_batch_of_upserts_is_resent(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.faults.lose_response_next()
    requests = [
        BatchRequest.upsert("contacts", {"emailaddress1": f"u{i}@example.com"}, {"lastname": "U"})
        for i in range(3)
    ]

    outcome = dataverse_client.execute_batch(requests)

    assert outcome.succeeded == 3
    assert len(dataverse_sandbox.state.table("contact")) == 3  # same keys: no duplicates
    assert dataverse_sandbox.state.counters.count("POST", BATCH_TEMPLATE) == 2
    assert all(r.sends == 2 for r in outcome.results)  # the caller can tell it went out twice

    again = dataverse_client.execute_batch(requests)

    assert all(r.sends == 1 and not r.resent for r in again.results)
