"""Webhook registration calls over real HTTP against the Dataverse sandbox: WhoAmI, service
endpoints (whose `authvalue` is never read back), messages and filters, steps bound to an
endpoint, their images, and a missing privilege."""

from __future__ import annotations

import pytest

from sandbox.dataverse.plugin_registration import auth_value, filter_id, message_id
from shared.clients import DataverseClient
from shared.clients.dataverse.plugin_registration import (
    AUTH_HTTP_HEADER,
    AUTH_WEBHOOK_KEY,
    IMAGE_POST,
    MODE_ASYNC,
    STAGE_POST_OPERATION,
    STATE_DISABLED,
    STATE_ENABLED,
    settings_auth_value,
)
from shared.errors import ApiError
from tests.fixtures.sandboxes import DataverseSandbox

URL = "https://connector.example.invalid/api/dynamics/webhook"
KEY = "test-webhook-key"  # not a secret: the sandbox's stand-in


def _endpoint(client: DataverseClient, auth_type: int = AUTH_WEBHOOK_KEY) -> str:
    return client.plugin_registration.create_endpoint(
        name="Dynamics Marketing Sync",
        url=URL,
        auth_type=auth_type,
        auth_value=KEY,
        description="test",
    )


def test_who_am_i_names_the_app_user_and_the_organization(
    dataverse_client: DataverseClient,
) -> None:
    first = dataverse_client.plugin_registration.who_am_i()
    again = dataverse_client.plugin_registration.who_am_i()
    assert first == again
    assert first.user_id != first.organization_id
    assert first.user_id == first.user_id.lower() and len(first.organization_id) == 36


def test_an_endpoint_is_found_by_name_and_its_auth_value_is_never_read_back(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    registration = dataverse_client.plugin_registration
    endpoint_id = _endpoint(dataverse_client)

    (found,) = registration.webhook_endpoints("Dynamics Marketing Sync")
    assert (found.id, found.url, found.auth_type) == (endpoint_id, URL, AUTH_WEBHOOK_KEY)
    assert registration.webhook_endpoints("Someone else's webhook") == []
    # Dataverse stores authvalue (IsValidForRead False): no read returns it.
    row = dataverse_sandbox.state.row("serviceendpoint", endpoint_id)
    assert row is not None and "authvalue" not in row
    with pytest.raises(ApiError) as refused:
        dataverse_client.retrieve("serviceendpoints", endpoint_id, ["authvalue"])
    assert refused.value.status == 400
    assert auth_value(dataverse_sandbox.state, endpoint_id) == KEY

    header = settings_auth_value("x-functions-key", KEY)
    registration.update_endpoint(endpoint_id, {"authtype": AUTH_HTTP_HEADER, "authvalue": header})
    assert registration.webhook_endpoints()[0].auth_type == AUTH_HTTP_HEADER
    assert auth_value(dataverse_sandbox.state, endpoint_id) == (
        '<settings><setting name="x-functions-key" value="test-webhook-key" /></settings>'
    )
    registration.delete_endpoint(endpoint_id)
    assert registration.webhook_endpoints() == []


def test_messages_and_their_filters_by_table(dataverse_client: DataverseClient) -> None:
    registration = dataverse_client.plugin_registration
    ids = registration.message_ids(["Update", "Associate", "NoSuchMessage"])
    assert ids == {"Update": message_id("Update"), "Associate": message_id("Associate")}
    assert registration.message_filters(ids["Update"], ["contact", "list", "nosuchtable"]) == {
        "contact": filter_id("Update", "contact"),
        "list": filter_id("Update", "list"),
    }
    assert registration.message_filters(ids["Associate"], ["none"]) == {
        "none": filter_id("Associate", "none")
    }
    assert registration.filter_table(filter_id("Delete", "lead")) == "lead"
    assert registration.message_name(ids["Update"]) == "Update"


def test_a_step_is_bound_to_its_endpoint_message_and_filter_with_an_image(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    registration = dataverse_client.plugin_registration
    endpoint_id = _endpoint(dataverse_client)
    other_endpoint = _endpoint(dataverse_client)
    step_id = registration.create_step(
        name="Dynamics Marketing Sync: Update of contact",
        description="test",
        message_id=message_id("Update"),
        filter_id=filter_id("Update", "contact"),
        endpoint_id=endpoint_id,
        filtering_attributes=["lastname", "emailaddress1", "firstname"],
    )
    registration.create_step(
        name="another webhook's step",
        description="test",
        message_id=message_id("Delete"),
        filter_id=filter_id("Delete", "contact"),
        endpoint_id=other_endpoint,
    )

    (step,) = registration.steps(endpoint_id)
    assert step.id == step_id
    assert (step.message_id, step.filter_id) == (
        message_id("Update"),
        filter_id("Update", "contact"),
    )
    assert (step.mode, step.stage, step.state) == (MODE_ASYNC, STAGE_POST_OPERATION, STATE_ENABLED)
    assert step.filtering_attributes == {"emailaddress1", "firstname", "lastname"}
    row = dataverse_sandbox.state.row("sdkmessageprocessingstep", step_id)
    assert row is not None
    assert row["filteringattributes"] == "emailaddress1,firstname,lastname"  # sorted, one form
    assert row["asyncautodelete"] is True and row["rank"] == 1

    registration.set_filtering_attributes(step_id, ["emailaddress1", "jobtitle"])
    dataverse_client.update(
        "sdkmessageprocessingsteps", step_id, {"statecode": STATE_DISABLED, "statuscode": 2}
    )
    (changed,) = registration.steps(endpoint_id)
    assert changed.filtering_attributes == {"emailaddress1", "jobtitle"}
    assert changed.state == STATE_DISABLED
    registration.enable_step(step_id)
    assert registration.steps(endpoint_id)[0].state == STATE_ENABLED

    image_id = registration.create_image(
        step_id, image_type=IMAGE_POST, alias="PostImage", attributes=["statecode", "emailaddress1"]
    )
    (image,) = registration.images(step_id)
    assert (image.id, image.step_id, image.image_type) == (image_id, step_id, IMAGE_POST)
    assert (image.entity_alias, image.attributes) == ("PostImage", {"emailaddress1", "statecode"})
    image_row = dataverse_sandbox.state.row("sdkmessageprocessingstepimage", image_id)
    assert image_row is not None and image_row["messagepropertyname"] == "Target"
    registration.set_image_attributes(image_id, ["emailaddress1"])
    assert registration.images(step_id)[0].attributes == {"emailaddress1"}

    registration.delete_image(image_id)
    registration.delete_step(step_id)
    assert registration.images(step_id) == [] and registration.steps(endpoint_id) == []


def test_a_missing_privilege_is_dataverses_own_error(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.deny_customization = True
    with pytest.raises(ApiError) as refused:
        _endpoint(dataverse_client)
    assert refused.value.status == 403
    assert "is missing prvCreateServiceEndpoint privilege" in str(refused.value)
    # Reads need no customization privilege.
    assert dataverse_client.plugin_registration.webhook_endpoints() == []
