"""Bulk writes over real HTTP: the bulk messages where the table has them, `$batch` elsewhere,
bad records isolated by halving and reported, lost answers of creates with ids resent safely."""

from __future__ import annotations

import pytest

from sandbox.dataverse import BATCH_TEMPLATE
from sandbox.dataverse import BULK_TEMPLATE as BULK  # the bulk messages' route
from shared.clients import DataverseClient
from shared.errors import ApiError, OutcomeUnknown
from tests.fixtures.sandboxes import DataverseSandbox

MISSING = "00000000-0000-0000-0000-0000000000aa"


def guid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012x}"


def test_updates_go_out_in_chunks_of_one_message(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    ids = [state.insert("contact", {"lastname": f"c{n}"}) for n in range(25)]
    state.counters.reset()

    outcome = dataverse_client.update_multiple(
        "contacts", [(i, {"firstname": "Bulk"}) for i in ids], chunk_size=10
    )

    assert outcome.succeeded == 25 and not outcome.failures and not outcome.via_batch
    assert state.counters.count("POST", BULK) == 3 == outcome.http_requests
    assert state.counters.count("POST", BATCH_TEMPLATE) == 0
    assert all(state.row("contact", i)["firstname"] == "Bulk" for i in ids)  # type: ignore[index]


def test_bad_records_are_isolated_skipped_and_reported(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    ids = [state.insert("contact", {"lastname": f"c{n}"}) for n in range(16)]
    records = [(i, {"firstname": "Bulk"}) for i in ids]
    records[5] = (MISSING, {"firstname": "Nobody"})
    records[11] = (ids[11], {"emailaddress1": "x" * 101})  # longer than the column allows

    outcome = dataverse_client.update_multiple("contacts", records)

    assert [f.index for f in outcome.failures] == [5, 11]
    assert f"With Ids = {MISSING} Do Not Exist" in outcome.failures[0].message
    assert outcome.failures[0].record == {"firstname": "Nobody"}
    assert outcome.succeeded == 14
    written = [state.row("contact", i)["firstname"] for i in ids]  # type: ignore[index]
    assert [n for n, name in enumerate(written) if name != "Bulk"] == [5, 11]


def test_creates_return_ids_and_a_taken_id_is_reported_as_taken(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    state.insert("lead", {"leadid": guid(2), "lastname": "Exists"})

    outcome = dataverse_client.create_multiple(
        "leads", [(guid(n), {"lastname": f"L{n}"}) for n in range(1, 5)]
    )

    assert outcome.ids == [guid(1), None, guid(3), guid(4)]
    assert [(f.index, f.taken) for f in outcome.failures] == [(1, True)]
    assert state.row("lead", guid(2))["lastname"] == "Exists"  # type: ignore[index]


def test_a_lost_create_answer_is_resent_when_ids_are_given_and_never_duplicates(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    before = len(state.table("lead"))
    state.faults.lose_response_next()

    outcome = dataverse_client.create_multiple(
        "leads", [(guid(n), {"lastname": f"L{n}"}) for n in range(1, 4)]
    )

    # The first send went through: the replay finds every id taken, nothing is created twice.
    assert len(state.table("lead")) == before + 3
    assert all(f.taken for f in outcome.failures) and len(outcome.failures) == 3


def test_a_lost_create_answer_without_ids_is_an_unknown_outcome(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.faults.lose_response_next()

    with pytest.raises(OutcomeUnknown):
        dataverse_client.create_multiple("leads", [(None, {"lastname": "L"})])


def test_tables_without_the_messages_go_through_batch(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    state.counters.reset()

    outcome = dataverse_client.create_multiple(
        "tasks", [(None, {"subject": "one"}), (guid(7), {"subject": "two"})]
    )

    assert outcome.via_batch and outcome.succeeded == 2 and outcome.ids[1] == guid(7)
    assert state.counters.count("POST", BULK) == 0
    assert state.counters.count("POST", BATCH_TEMPLATE) == 1
    assert state.row("task", guid(7))["subject"] == "two"  # type: ignore[index]


def test_upserts_by_alternate_key(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    known = state.insert("contact", {"lastname": "Known", "emailaddress1": "k@example.com"})

    outcome = dataverse_client.upsert_multiple(
        "contacts",
        [
            ({"emailaddress1": "k@example.com"}, {"firstname": "K"}),
            ({"emailaddress1": "n@example.com"}, {"lastname": "New"}),
        ],
    )

    assert outcome.succeeded == 2
    assert state.row("contact", known)["firstname"] == "K"  # type: ignore[index]


def test_a_table_found_without_the_message_continues_through_batch(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    state.counters.reset()

    outcome = dataverse_client.create_multiple(
        "tasks", [(None, {"subject": f"t{n}"}) for n in range(4)], chunk_size=2, via_batch=False
    )

    assert outcome.via_batch and outcome.succeeded == 4 and not outcome.failures
    assert state.counters.count("POST", BULK, status=404) == 1  # asked once, then $batch
    assert state.counters.count("POST", BATCH_TEMPLATE) == 2


def test_a_privilege_refusal_is_raised_not_split_record_by_record(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    ids = [state.insert("contact", {"lastname": f"c{n}"}) for n in range(8)]
    state.counters.reset()
    state.faults.fail_next(403)

    with pytest.raises(ApiError) as raised:
        dataverse_client.update_multiple("contacts", [(i, {"firstname": "x"}) for i in ids])

    assert raised.value.status == 403
    assert state.counters.count("POST", BULK) == 1
