"""Notes and activities over real HTTP, with the documented `@odata.bind` names."""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox.dataverse import COLLECTION_TEMPLATE
from shared.clients import DataverseClient
from shared.clients.dataverse.activities import (
    activity_body,
    note_bind_name,
    regarding_bind_name,
)
from shared.clients.dataverse.batch import BatchRequest
from tests.fixtures.sandboxes import DataverseSandbox


def test_bind_names() -> None:
    assert note_bind_name("contact") == "objectid_contact@odata.bind"
    assert regarding_bind_name("account", "task") == "regardingobjectid_account_task@odata.bind"
    assert (
        regarding_bind_name("lead", "new_emailevent")
        == "regardingobjectid_lead_new_emailevent@odata.bind"
    )
    with pytest.raises(ValueError):
        regarding_bind_name("contact", "task; drop")


def test_a_note_on_a_contact(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    contact = dataverse_sandbox.state.insert("contact", {"lastname": "Noted"})

    note_id = dataverse_client.create_note(
        "contact", contact, subject="Unsubscribed", text="Unsubscribed in Dotdigital."
    )

    note = dataverse_sandbox.state.row("annotation", note_id)
    assert note is not None
    assert (note["_objectid_value"], note["objecttypecode"]) == (contact, "contact")
    assert note["notetext"] == "Unsubscribed in Dotdigital."
    (call,) = dataverse_sandbox.state.counters.calls("POST", COLLECTION_TEMPLATE)
    assert call.path == "/api/data/v9.2/annotations"


@pytest.mark.parametrize("regarding", ["contact", "lead", "account"])
def test_a_task_regarding_a_row(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, regarding: str
) -> None:
    values = {"lastname": "R"} if regarding != "account" else {"name": "R"}
    row_id = dataverse_sandbox.state.insert(regarding, values)

    task_id = dataverse_client.create_activity(
        "task", regarding, row_id, {"subject": "Call back", "description": "Opened 3 emails"}
    )

    task = dataverse_sandbox.state.row("task", task_id)
    assert task is not None
    assert task["_regardingobjectid_value"] == row_id
    assert (task["statecode"], task["statuscode"], task["activitytypecode"]) == (0, 2, "task")


def test_a_custom_activity_table(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.add_activity_table("new_emailevent")
    contact = dataverse_sandbox.state.insert("contact", {"lastname": "Clicked"})

    event_id = dataverse_client.create_activity(
        "new_emailevent", "contact", contact, {"subject": "Clicked the spring campaign"}
    )

    event = dataverse_sandbox.state.row("new_emailevent", event_id)
    assert event is not None and event["_regardingobjectid_value"] == contact


def test_activities_in_a_batch(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    contacts = dataverse_sandbox.state.seed_data(contacts=3).contacts
    requests = [
        BatchRequest.create(
            "phonecalls", activity_body("phonecall", "contact", c, {"subject": "Hi"})
        )
        for c in contacts
    ]

    outcome = dataverse_client.execute_batch(requests)

    assert outcome.succeeded == 3
    regarding = {
        dataverse_sandbox.state.row("phonecall", r.entity_id or "")["_regardingobjectid_value"]  # type: ignore[index]
        for r in outcome.results
    }
    assert regarding == set(contacts)


def test_the_activitypointer_form_is_refused_for_a_task(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    contact = dataverse_sandbox.state.insert("contact", {"lastname": "X"})

    response = dataverse_api.post(
        "tasks",
        content=json.dumps(
            {"subject": "x", "regardingobjectid_contact@odata.bind": f"/contacts({contact})"}
        ),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80060888"
    assert error["message"].startswith(
        "An undeclared property 'regardingobjectid_contact' which only has property annotations"
    )
