"""The bulk operation messages of the sandbox against Microsoft's samples (`bulk-operations.md`,
tests/fixtures/dataverse_samples/): documented answers, all-or-nothing on standard tables, and
the refusals a general client can run into."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.dataverse import BULK_TEMPLATE
from tests.fixtures.sandboxes import DataverseSandbox
from tests.sandbox.test_dataverse_fidelity import GUID, assert_headers_present, org, sample

CONTACT = "Microsoft.Dynamics.CRM.contact"


def contact(**values: Any) -> dict[str, Any]:
    return {**values, "@odata.type": CONTACT}


def by_email(email: str) -> str:
    return f"contacts(emailaddress1='{email}')"


def assert_error(response: httpx.Response, status: int, message_part: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert list(error) == ["code", "message"]
    assert message_part in error["message"]


def test_create_multiple_answers_the_documented_ids(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("create_multiple.http")
    expected = documented.json()

    response = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [contact(lastname=f"sample record {n:07}") for n in (1, 2, 3)]},
    )

    assert f"HTTP/1.1 {response.status_code} {response.reason_phrase}" == documented.status_line
    assert_headers_present(documented.headers, response)
    body = response.json()
    assert list(body) == list(expected)
    assert (
        org(dataverse_sandbox, body["@odata.context"], "[Organization Uri]")
        == (expected["@odata.context"])
    )
    assert len(body["Ids"]) == 3 and all(GUID.fullmatch(i) for i in body["Ids"])
    names = [dataverse_sandbox.state.row("contact", i)["lastname"] for i in body["Ids"]]  # type: ignore[index]
    assert names == ["sample record 0000001", "sample record 0000002", "sample record 0000003"]


def test_update_and_upsert_multiple_answer_the_documented_204(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("update_multiple.http")
    state = dataverse_sandbox.state
    first = state.insert("contact", {"lastname": "A", "emailaddress1": "a@example.com"})
    second = state.insert("contact", {"lastname": "B"})

    updated = dataverse_api.post(  # the documented request carries a plug-in `tag`
        "contacts/Microsoft.Dynamics.CRM.UpdateMultiple?tag=CreateUpdateMultiple",
        json={
            "Targets": [
                contact(contactid=first, lastname="A2"),
                contact(contactid=second, lastname="B2"),
            ]
        },
    )
    upserted = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.UpsertMultiple",
        json={
            "Targets": [
                contact(firstname="Ann", **{"@odata.id": by_email("a@example.com")}),
                contact(lastname="New", **{"@odata.id": by_email("n@example.com")}),
            ]
        },
    )

    for response in (updated, upserted):
        assert response.status_code == 204 and response.content == b""
        assert_headers_present(documented.headers, response)
    assert state.row("contact", first)["lastname"] == "A2"  # type: ignore[index]
    assert state.row("contact", first)["firstname"] == "Ann"  # type: ignore[index]
    assert state.row("contact", second)["lastname"] == "B2"  # type: ignore[index]
    rows = dataverse_api.get("contacts", params={"$filter": "emailaddress1 eq 'n@example.com'"})
    assert [r["lastname"] for r in rows.json()["value"]] == ["New"]


def test_one_bad_target_fails_the_whole_request_and_writes_nothing(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    state = dataverse_sandbox.state
    kept = state.insert("contact", {"lastname": "Kept"})
    missing = "00000000-0000-0000-0000-0000000000aa"
    before = len(state.table("contact"))

    update = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.UpdateMultiple",
        json={"Targets": [contact(contactid=kept, lastname="Changed"), contact(contactid=missing)]},
    )
    create = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [contact(lastname="New"), contact(contactid=kept, lastname="Again")]},
    )
    too_long = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [contact(lastname="New"), contact(emailaddress1="x" * 101)]},
    )

    assert_error(update, 404, f"Contact With Ids = {missing} Do Not Exist")
    assert_error(create, 412, "Cannot insert duplicate key.")
    assert too_long.status_code == 400 and "error" in too_long.json()
    assert state.row("contact", kept)["lastname"] == "Kept"  # type: ignore[index]
    assert len(state.table("contact")) == before


def test_targets_without_the_bound_type_are_refused(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    before = len(dataverse_sandbox.state.table("contact"))

    untyped = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [contact(lastname="A"), {"lastname": "B"}]},
    )
    other_table = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"lastname": "L", "@odata.type": "Microsoft.Dynamics.CRM.lead"}]},
    )
    no_targets = dataverse_api.post("contacts/Microsoft.Dynamics.CRM.CreateMultiple", json={})

    assert_error(untyped, 400, "@odata.type")
    assert_error(other_table, 400, "Microsoft.Dynamics.CRM.contact")
    assert_error(no_targets, 400, "Targets")
    assert len(dataverse_sandbox.state.table("contact")) == before


def test_the_messages_exist_on_the_connectors_tables_only_where_simulated(
    dataverse_api: httpx.Client,
) -> None:
    for entity_set, logical in (("leads", "lead"), ("accounts", "account"), ("lists", "list")):
        target = {"@odata.type": f"Microsoft.Dynamics.CRM.{logical}"}
        if logical == "list":
            target |= {"listname": "L", "createdfromcode": 2}
        response = dataverse_api.post(
            f"{entity_set}/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [target]}
        )
        assert response.status_code == 200, response.text

    unsupported = dataverse_api.post(
        "tasks/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"subject": "s", "@odata.type": "Microsoft.Dynamics.CRM.task"}]},
    )
    assert_error(unsupported, 404, "Microsoft.Dynamics.CRM.CreateMultiple")
    get = dataverse_api.get("contacts/Microsoft.Dynamics.CRM.CreateMultiple")
    assert get.status_code == 405


def test_counters_see_bulk_requests_and_their_bytes(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    counters = dataverse_sandbox.state.counters
    counters.reset()
    response = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [contact(lastname=str(n)) for n in range(50)]},
    )

    assert response.status_code == 200
    assert counters.count("POST", BULK_TEMPLATE) == 1
    sent = len(response.request.content)
    assert counters.request_bytes("POST", BULK_TEMPLATE) == sent > 50 * len(CONTACT)
