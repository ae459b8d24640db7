"""The sandboxes' side of programs and user mapping: who created a row (`createdby`, the
`MSCRMCallerID` user when a request impersonates one), the org's system users, the platform's
account users (an INFERRED read), programs by id and enrolments by status."""

from __future__ import annotations

import httpx

from sandbox.dataverse.systemusers import SALES_USER_ID
from sandbox.dataverse.webhooks import CRM_USER_ID
from shared.clients.dotdigital.client import DotdigitalClient
from tests.fixtures.dotdigital_openapi.oracle import DotdigitalOracle
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox

ROWS = "dms_programenrolments"


def test_a_row_is_created_by_the_impersonated_user_or_the_application_user(
    dataverse_api: httpx.Client, dataverse_sandbox: DataverseSandbox
) -> None:
    body = {"dms_name": "Enrol", "dms_emailaccountid": "acme"}
    as_sam = dataverse_api.post(ROWS, json=body, headers={"MSCRMCallerID": SALES_USER_ID})
    assert as_sam.status_code == 204, as_sam.text
    assert dataverse_api.post(ROWS, json=body).status_code == 204
    unknown = dataverse_api.post(
        ROWS, json=body, headers={"MSCRMCallerID": "00000000-0000-4000-8000-000000000009"}
    )
    assert unknown.status_code == 404 and "systemuser With Id" in unknown.text

    rows = dataverse_api.get(ROWS, params={"$select": "dms_name,_createdby_value"}).json()
    creators = [r["_createdby_value"] for r in rows["value"]]
    app_user = dataverse_api.get("WhoAmI").json()["UserId"]
    assert creators == [SALES_USER_ID, app_user]
    # Edits through the state are the CRM user's, as webhooks report them.
    made = dataverse_sandbox.state.insert("dms_programenrolment", body)
    assert dataverse_sandbox.state.row("dms_programenrolment", made)["_createdby_value"] == (  # type: ignore[index]
        CRM_USER_ID
    )


def test_system_users_are_read_as_the_web_api_serves_them(dataverse_api: httpx.Client) -> None:
    select = "systemuserid,fullname,internalemailaddress,isdisabled"
    users = dataverse_api.get("systemusers", params={"$select": select}).json()["value"]
    by_id = {u["systemuserid"]: u for u in users}
    assert by_id[SALES_USER_ID]["fullname"] == "Sam Sales"
    assert by_id[SALES_USER_ID]["internalemailaddress"] == "sam.sales@example.com"
    assert any(u["isdisabled"] for u in users)


def test_the_account_users_read_is_inferred_and_left_unchecked(
    validated_dotdigital_client: DotdigitalClient, dotdigital_openapi: DotdigitalOracle
) -> None:
    users = list(validated_dotdigital_client.iter_account_users())
    assert [e.template for e in dotdigital_openapi.unvalidated] == ["/v2/account-users"]
    assert [(u.id, u.name, u.email) for u in users][:2] == [
        (701, "Morgan Lead", "marketing.lead@example.com"),
        (702, "Casey Manager", "campaign.manager@example.com"),
    ]


def test_programs_and_enrolments_by_status(
    validated_dotdigital_client: DotdigitalClient, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    client = validated_dotdigital_client

    state = dotdigital_sandbox.state
    program = state.add_program("Journey")
    with state.lock:
        contact = state.store.add_contact("p@example.com", when=state.now())
    made = client.enrol_in_program(program.id, contact_ids=[contact.id])
    assert [e.id for e in client.iter_enrolments("Processing")] == [made.id]
    assert list(client.iter_enrolments("Finished")) == []
    assert client.program_enrolment(made.id).id == made.id  # a read finishes it (sandbox)
    assert [e.contacts for e in client.iter_enrolments("Finished")] == [(contact.id,)]
