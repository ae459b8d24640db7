"""The Dataverse sandbox posts webhooks for changes made through it, as Dataverse does for
registered asynchronous steps: which changes, which steps, and the RemoteExecutionContext body,
received by a real HTTP endpoint (delivery rules: test_webhook_delivery.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from sandbox.dataverse.metadata_model import who_am_i_ids
from sandbox.dataverse.plugin_registration import IMAGE_BOTH, IMAGE_POST, IMAGE_PRE
from sandbox.dataverse.webhooks import CRM_USER_ID
from shared.webhooks.context import parse_event
from tests.fixtures.sandboxes import DataverseSandbox
from tests.fixtures.webhook_receiver import (
    WEBHOOK_KEY,
    Receiver,
    attributes,
    delivered,
    new_contact,
    parameters,
    reference,
    register_step,
)
from tests.sandbox.test_dataverse_protocol import batch_body, http_part

SAMPLE = Path(__file__).parents[1] / "fixtures" / "webhooks" / "update_contact_sample.json"
ENTITY = "Entity:http://schemas.microsoft.com/xrm/2011/Contracts"


# Update ---------------------------------------------------------------------------------------


def test_update_posts_the_changed_columns_and_system_ones_like_the_documented_sample(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    step_id = register_step(state, webhook_receiver.url + "/api/hook", "Update", "contact")

    state.update("contact", contact_id, {"firstname": "James"})

    [post] = delivered(state, webhook_receiver)
    assert post.path == "/api/hook"
    assert post.query == {"code": WEBHOOK_KEY}
    assert post.headers["content-type"] == "application/json"
    assert post.headers["x-ms-dynamics-organization"] == "127.0.0.1"
    assert post.headers["x-ms-dynamics-entity-name"] == "contact"
    assert post.headers["x-ms-dynamics-request-name"] == "Update"
    assert post.headers["x-ms-correlation-request-id"]
    assert "x-ms-dynamics-msg-size-exceeded" not in post.headers
    assert b"\\/Date(" in post.body  # WCF dates with escaped slashes, as .NET writes them
    context = post.json()
    assert list(context) == list(json.loads(SAMPLE.read_text()))  # same keys, same order
    target = parameters(context)["Target"]
    assert target["__type"] == ENTITY
    assert (target["LogicalName"], target["Id"]) == ("contact", contact_id)
    assert list(attributes(target)) == [
        "firstname",
        "contactid",
        "fullname",
        "modifiedon",
        "modifiedby",
        "modifiedonbehalfby",
    ]
    assert attributes(target)["firstname"] == "James"
    assert attributes(target)["fullname"] == "James Lovelace"
    assert attributes(target)["modifiedon"].startswith("/Date(")
    assert attributes(target)["modifiedby"] == reference("systemuser", CRM_USER_ID)
    assert context["MessageName"] == "Update"
    assert (context["PrimaryEntityName"], context["PrimaryEntityId"]) == ("contact", contact_id)
    assert (context["Depth"], context["Mode"], context["Stage"]) == (1, 1, 40)
    assert context["OwningExtension"]["Id"] == step_id
    assert context["OrganizationId"] == state.organization_id
    assert context["BusinessUnitId"] == state.business_unit_id
    assert context["ParentContext"] is None
    assert context["SecondaryEntityName"] == "none"
    assert context["OperationCreatedOn"] == f"/Date({round(state.now() * 1000)})/"
    assert state.webhooks.counts.answered == {200: 1}


def test_update_steps_with_filtering_attributes_fire_only_for_those_columns(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(
        state, webhook_receiver.url, "Update", "contact", filtering="emailaddress1,donotbulkemail"
    )

    state.update("contact", contact_id, {"jobtitle": "Engineer"})
    assert delivered(state, webhook_receiver) == []

    state.update("contact", contact_id, {"donotbulkemail": True, "jobtitle": "Poet"})
    [post] = delivered(state, webhook_receiver)
    assert attributes(parameters(post.json())["Target"])["donotbulkemail"] is True


def test_a_disabled_step_or_another_table_does_not_fire(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(state, webhook_receiver.url, "Update", "contact", enabled=False)
    register_step(state, webhook_receiver.url, "Update", "lead")

    state.update("contact", contact_id, {"firstname": "James"})

    assert delivered(state, webhook_receiver) == []
    assert state.webhooks.counts.posted == 0


# Create, Delete, images -------------------------------------------------------------------------


def test_create_posts_every_set_column_with_typed_values(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    account_id = state.insert("account", {"name": "Contoso"})
    register_step(state, webhook_receiver.url, "Create", "contact")

    contact_id = new_contact(
        state, **{"parentcustomerid_account@odata.bind": f"/accounts({account_id})"}
    )

    [post] = delivered(state, webhook_receiver)
    context = post.json()
    assert context["MessageName"] == "Create"
    assert post.headers["x-ms-dynamics-request-name"] == "Create"
    values = attributes(parameters(context)["Target"])
    assert values["contactid"] == contact_id
    assert values["emailaddress1"] == "ada@x.test"
    assert values["fullname"] == "Ada Lovelace"
    assert values["parentcustomerid"] == reference("account", account_id)
    assert values["statecode"] == {
        "__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts",
        "Value": 0,
    }
    assert values["createdon"].startswith("/Date(")
    assert values["createdby"] == reference("systemuser", CRM_USER_ID)
    assert context["OutputParameters"] == [{"key": "id", "value": contact_id}]
    assert context["PreEntityImages"] == []


def test_delete_posts_an_entity_reference_target_and_the_pre_image(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(
        state,
        webhook_receiver.url,
        "Delete",
        "contact",
        images=(("Before", IMAGE_PRE, "emailaddress1"),),
    )

    state.delete("contact", contact_id)

    [post] = delivered(state, webhook_receiver)
    context = post.json()
    assert parameters(context) == {"Target": reference("contact", contact_id)}
    [image] = context["PreEntityImages"]
    assert image["key"] == "Before"
    assert attributes(image["value"]) == {"emailaddress1": "ada@x.test"}
    assert context["PostEntityImages"] == []


def test_step_images_hold_the_row_before_and_after(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(
        state,
        webhook_receiver.url,
        "Update",
        "contact",
        images=(("Names", IMAGE_BOTH, "firstname,contactid"), ("All", IMAGE_POST, None)),
    )

    state.update("contact", contact_id, {"firstname": "James"})

    context = delivered(state, webhook_receiver)[0].json()
    pre = {image["key"]: attributes(image["value"]) for image in context["PreEntityImages"]}
    post = {image["key"]: attributes(image["value"]) for image in context["PostEntityImages"]}
    assert pre == {"Names": {"contactid": contact_id, "firstname": "Ada"}}
    assert post["Names"] == {"contactid": contact_id, "firstname": "James"}
    assert post["All"]["emailaddress1"] == "ada@x.test"
    assert post["All"]["lastname"] == "Lovelace"


# Marketing list membership ----------------------------------------------------------------------


def test_adding_and_removing_a_list_member_posts_associate_and_disassociate(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    list_id = state.insert("list", {"listname": "Newsletter", "createdfromcode": 2})
    register_step(state, webhook_receiver.url, "Associate", "list")
    register_step(state, webhook_receiver.url, "Disassociate", "list")

    state.add_list_member(list_id, contact_id)
    state.add_list_member(list_id, contact_id)  # already a member: nothing changes
    assert state.remove_list_member(list_id, contact_id)

    posts = delivered(state, webhook_receiver)
    assert [p.headers["x-ms-dynamics-request-name"] for p in posts] == [
        "Associate",
        "Disassociate",
    ]
    for post in posts:
        context = post.json()
        assert post.headers["x-ms-dynamics-entity-name"] == "list"
        assert (context["PrimaryEntityName"], context["PrimaryEntityId"]) == ("list", list_id)
        assert parameters(context) == {
            "Target": reference("list", list_id),
            "Relationship": {
                "__type": "Relationship:http://schemas.microsoft.com/xrm/2011/Contracts",
                "PrimaryEntityRole": None,
                "SchemaName": "listcontact_association",
            },
            "RelatedEntities": [reference("contact", contact_id)],
        }


def test_web_api_membership_changes_post_with_the_callers_user(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    lead_id = state.insert("lead", {"lastname": "Byron", "emailaddress1": "byron@x.test"})
    list_id = state.insert("list", {"listname": "Leads", "createdfromcode": 4})
    register_step(state, webhook_receiver.url, "Associate", "list")
    register_step(state, webhook_receiver.url, "Disassociate", "list")

    added = dataverse_api.post(
        f"lists({list_id})/Microsoft.Dynamics.CRM.AddMemberList", json={"EntityId": lead_id}
    )
    removed = dataverse_api.delete(f"leads({lead_id})/listlead_association({list_id})/$ref")
    readded = dataverse_api.post(
        f"lists({list_id})/listlead_association/$ref",
        json={"@odata.id": f"{dataverse_sandbox.url}/api/data/v9.2/leads({lead_id})"},
    )

    assert [r.status_code for r in (added, removed, readded)] == [200, 204, 204]
    posts = delivered(state, webhook_receiver)
    assert [p.json()["MessageName"] for p in posts] == ["Associate", "Disassociate", "Associate"]
    user_id = who_am_i_ids(state, dataverse_sandbox.client_id)["UserId"]
    for post in posts:
        context = post.json()
        assert (context["UserId"], context["InitiatingUserId"]) == (user_id, user_id)
        assert parameters(context)["Relationship"]["SchemaName"] == "listlead_association"
        assert parameters(context)["RelatedEntities"] == [reference("lead", lead_id)]
    assert len({p.json()["CorrelationId"] for p in posts}) == 3  # one per request


# Callers and correlation -------------------------------------------------------------------------


def test_the_caller_tells_the_connectors_writes_from_a_persons(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    contact_id = new_contact(state)
    register_step(state, webhook_receiver.url, "Update", "contact")

    assert dataverse_api.patch(f"contacts({contact_id})", json={"jobtitle": "Poet"}).is_success
    state.update("contact", contact_id, {"jobtitle": "Engineer"})

    app_user = who_am_i_ids(state, dataverse_sandbox.client_id)["UserId"]
    contexts = [p.json() for p in delivered(state, webhook_receiver)]
    assert [(c["UserId"], c["InitiatingUserId"]) for c in contexts] == [
        (app_user, app_user),
        (CRM_USER_ID, CRM_USER_ID),
    ]
    assert app_user != CRM_USER_ID
    modifiedby = attributes(parameters(contexts[0])["Target"])["modifiedby"]
    assert modifiedby == reference("systemuser", app_user)


def test_a_batch_change_set_shares_one_correlation_and_a_rolled_back_one_posts_nothing(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    register_step(state, webhook_receiver.url, "Create", "account")

    def change_set(name: str, accounts: list[dict[str, object]]) -> str:
        parts = [
            http_part("POST /api/data/v9.2/accounts HTTP/1.1", body, str(n))
            for n, body in enumerate(accounts, 1)
        ]
        return (
            f"Content-Type: multipart/mixed; boundary={name}\r\n\r\n"
            + batch_body(name, parts).decode()
        )

    body = batch_body(
        "batch_W",
        [
            change_set("changeset_1", [{"name": "A"}, {"name": "B"}]),
            change_set("changeset_2", [{"name": "C"}, {"name": "D" * 200}]),  # too long: undone
            http_part("POST /api/data/v9.2/accounts HTTP/1.1", {"name": "E"}),
        ],
    )
    answer = dataverse_api.post(
        "$batch",
        content=body,
        headers={
            "Content-Type": "multipart/mixed; boundary=batch_W",
            "Prefer": "odata.continue-on-error",
        },
    )

    assert answer.status_code == 200
    contexts = [p.json() for p in delivered(state, webhook_receiver)]
    names = [attributes(parameters(c)["Target"])["name"] for c in contexts]
    assert names == ["A", "B", "E"]
    correlations = [c["CorrelationId"] for c in contexts]
    assert correlations[0] == correlations[1] != correlations[2]


def test_bulk_messages_post_one_change_per_row_and_nothing_when_refused(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    first, second = new_contact(state), new_contact(state, emailaddress1="bo@x.test")
    for message in ("Create", "Update", "Delete"):
        register_step(state, webhook_receiver.url, message, "contact")
    typed = {"@odata.type": "Microsoft.Dynamics.CRM.contact"}

    updated = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.UpdateMultiple",
        json={
            "Targets": [
                typed | {"contactid": first, "jobtitle": "One"},
                typed | {"contactid": second, "jobtitle": "Two"},
            ]
        },
    )
    upserted = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.UpsertMultiple",
        json={
            "Targets": [
                typed | {"@odata.id": "contacts(emailaddress1='new@x.test')", "lastname": "New"},
                typed | {"@odata.id": "contacts(emailaddress1='bo@x.test')", "jobtitle": "Три"},
            ]
        },
    )
    refused = dataverse_api.post(
        "contacts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [typed | {"lastname": "Fine"}, typed | {"lastname": "x" * 500}]},
    )
    deleted = dataverse_api.delete(f"contacts({first})")

    assert [r.status_code for r in (updated, upserted, refused, deleted)] == [204, 204, 400, 204]
    contexts = [p.json() for p in delivered(state, webhook_receiver)]
    assert [(c["MessageName"], c["PrimaryEntityId"]) for c in contexts] == [
        ("Update", first),
        ("Update", second),
        ("Create", contexts[2]["PrimaryEntityId"]),
        ("Update", second),
        ("Delete", first),
    ]
    assert attributes(parameters(contexts[3])["Target"])["jobtitle"] == "Три"
    correlations = [c["CorrelationId"] for c in contexts]
    assert correlations[0] == correlations[1] != correlations[2] == correlations[3]


def test_every_kind_of_post_parses_into_the_connectors_change_event(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    list_id = state.insert("list", {"listname": "Newsletter", "createdfromcode": 2})
    for message, table in [
        ("Create", "contact"),
        ("Update", "contact"),
        ("Delete", "contact"),
        ("Associate", "list"),
        ("Disassociate", "list"),
        ("Update", "list"),
    ]:
        register_step(state, webhook_receiver.url, message, table)

    contact_id = new_contact(state)
    assert dataverse_api.patch(f"contacts({contact_id})", json={"jobtitle": "Poet"}).is_success
    state.add_list_member(list_id, contact_id)
    state.remove_list_member(list_id, contact_id)
    state.update("list", list_id, {"query": "<fetch>" + "x" * 300_000 + "</fetch>"})
    state.delete("contact", contact_id)

    events = [parse_event(post.body, post.headers) for post in delivered(state, webhook_receiver)]
    app_user = who_am_i_ids(state, dataverse_sandbox.client_id)["UserId"]
    assert [(e.message, e.entity, e.record_id, e.user_id) for e in events] == [
        ("Create", "contact", contact_id, CRM_USER_ID),
        ("Update", "contact", contact_id, app_user),
        ("Associate", "list", list_id, CRM_USER_ID),
        ("Disassociate", "list", list_id, CRM_USER_ID),
        ("Update", "list", list_id, CRM_USER_ID),
        ("Delete", "contact", contact_id, CRM_USER_ID),
    ]
    assert {e.organization_id for e in events} == {state.organization_id}
    assert {e.organization_domain for e in events} == {"127.0.0.1"}
    assert events[1].attributes["jobtitle"] == "Poet"
    assert [(r.logical_name, r.id) for r in events[2].related] == [("contact", contact_id)]
    assert events[2].relationship == "listcontact_association"
    assert [e.size_exceeded for e in events] == [False, False, False, False, True, False]
    assert len({e.key for e in events}) == len(events)


def test_a_step_without_a_filter_fires_for_every_table_but_never_posts_a_write_only_column(
    dataverse_sandbox: DataverseSandbox, webhook_receiver: Receiver
) -> None:
    state = dataverse_sandbox.state
    register_step(
        state,
        webhook_receiver.url,
        "Create",
        "any",
        filtered=False,
        images=(("After", IMAGE_POST, None),),
    )

    register_step(state, "http://127.0.0.1:9/other", "Update", "contact", authvalue="other-key")

    posts = delivered(state, webhook_receiver)[-2:]  # (the first: the step's own creation)
    assert [p.json()["PrimaryEntityName"] for p in posts] == [
        "serviceendpoint",
        "sdkmessageprocessingstep",
    ]
    context = posts[0].json()
    target = attributes(parameters(context)["Target"])
    assert target["url"] == "http://127.0.0.1:9/other"
    assert "authvalue" not in target
    assert "authvalue" not in attributes(context["PostEntityImages"][0]["value"])
    assert b"other-key" not in posts[0].body
