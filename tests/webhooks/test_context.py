"""The RemoteExecutionContext parser: the documented sample, each message, and bad bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.webhooks.context import InvalidWebhook, parse_event
from shared.webhooks.event import EntityRef
from tests.webhooks import bodies
from tests.webhooks.bodies import CONTACT_ID, LIST_ID, ORGANIZATION_ID, USER_ID


def test_the_documented_sample_is_the_update_of_a_contact() -> None:
    event = parse_event(
        bodies.SAMPLE.read_bytes(), bodies.headers(domain="Contoso.CRM.dynamics.com")
    )

    assert event.message == "Update"
    assert (event.entity, event.record_id) == ("contact", CONTACT_ID)
    assert event.organization_id == ORGANIZATION_ID
    assert event.organization_domain == "contoso.crm.dynamics.com"
    assert event.correlation_id == "b374239d-4233-41a9-8b17-a86cb4f737b5"
    assert event.request_id == "9e0a1d7c-3b41-4c5e-8f27-6a1b2c3d4e5f"
    assert event.user_id == event.initiating_user_id == USER_ID
    assert event.depth == 1
    # /Date(1506409448000-0700)/: the offset names the sender's zone, the instant is UTC.
    assert event.operation_created == datetime(2017, 9, 26, 7, 4, 8, tzinfo=UTC)
    # No RowVersion in the sample: its modifiedon, as sent, tells this change apart.
    assert event.version == "/Date(1506384247000)/"
    assert event.attributes == {
        "firstname": "James",
        "contactid": CONTACT_ID,
        "fullname": "James Glynn (sample)",
        "yomifullname": "James Glynn (sample)",
        "modifiedon": "2017-09-26T00:04:07+00:00",
        "modifiedby": USER_ID,  # an EntityReference: its id
        "modifiedonbehalfby": None,
    }
    assert event.changed >= {"firstname", "modifiedon"}
    assert event.post_image == {"fullname": "James Glynn (sample)", "contactid": CONTACT_ID}
    assert event.pre_image == {}
    assert not event.size_exceeded


def test_create_reads_typed_values_and_the_row_version() -> None:
    event = parse_event(bodies.encode(bodies.create()), bodies.headers())

    assert (event.message, event.entity, event.record_id) == ("Create", "contact", CONTACT_ID)
    assert event.version == "1234567"
    assert event.attributes["dms_optintype"] == 2
    assert event.attributes["creditlimit"] == 1500.5
    assert event.attributes["parentcustomerid"] == "a1b2c3d4-0000-4000-8000-000000000001"
    assert event.attributes["createdon"] == "2017-09-26T00:04:07+00:00"
    assert event.attributes["donotbulkemail"] is False


def test_delete_takes_its_target_as_an_entity_reference() -> None:
    event = parse_event(bodies.encode(bodies.delete()), bodies.headers())

    assert (event.message, event.entity, event.record_id) == ("Delete", "contact", CONTACT_ID)
    assert event.attributes == {}
    assert event.pre_image == {"emailaddress1": "j@example.invalid"}
    assert event.version == event.operation_created.isoformat()


@pytest.mark.parametrize("message", ["Associate", "Disassociate"])
def test_associate_names_the_target_the_relationship_and_the_related_records(message: str) -> None:
    event = parse_event(bodies.encode(bodies.associate(message)), bodies.headers())

    assert event.message == message
    assert (event.entity, event.record_id) == ("list", LIST_ID)
    assert event.relationship == "listcontact_association"
    assert event.related == (EntityRef(logical_name="contact", id=CONTACT_ID),)


@pytest.mark.parametrize("message", list(bodies.VARIANTS))
def test_an_oversized_post_is_still_an_event_without_columns(message: str) -> None:
    body = bodies.oversized(bodies.VARIANTS[message]())

    event = parse_event(bodies.encode(body), bodies.headers(size_exceeded=True))

    assert event.size_exceeded
    assert event.message == message
    assert event.attributes == event.pre_image == event.post_image == {}
    assert event.record_id == body["PrimaryEntityId"]


def test_guids_are_lower_cased_and_unknown_keys_pass() -> None:
    body = bodies.update()
    body["OrganizationId"] = ORGANIZATION_ID.upper()
    body["SomethingNewFromMicrosoft"] = {"nested": [1, 2]}

    event = parse_event(bodies.encode(body), bodies.headers())

    assert event.organization_id == ORGANIZATION_ID


def test_a_redelivered_post_has_the_same_key_and_another_change_a_new_one() -> None:
    first = parse_event(bodies.encode(bodies.update()), bodies.headers())
    again = parse_event(bodies.encode(bodies.update()), bodies.headers())
    later = bodies.update()
    later["InputParameters"][0]["value"]["Attributes"][4]["value"] = "/Date(1506384999000)/"

    assert first.key == again.key
    assert parse_event(bodies.encode(later), bodies.headers()).key != first.key


def _with(**changes: Any) -> bytes:
    body = bodies.update()
    for key, value in changes.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    return bodies.encode(body)


def _target_column(name: str, value: Any) -> bytes:
    body = bodies.update()
    body["InputParameters"][0]["value"]["Attributes"].append({"key": name, "value": value})
    return bodies.encode(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (_with(MessageName=None), "MessageName: Field required"),
        (_with(MessageName="Merge"), "'Merge' is not a message the connector registers: Create"),
        (_with(OrganizationId="not-a-guid"), "OrganizationId: Value error, is not a GUID"),
        (_with(OperationCreatedOn="/Date(abc)/"), "OperationCreatedOn: Value error, is not a WCF"),
        (_with(OperationCreatedOn="/Date(999999999999999)/"), "OperationCreatedOn"),
        (_with(OperationCreatedOn=1506409448000), "OperationCreatedOn: Value error, should be"),
        (_with(OperationCreatedOn="2017-09-26T07:04:08"), "OperationCreatedOn: Input should have"),
        (_with(Depth="deep"), "Depth: Input should be a valid integer"),
        (_with(InputParameters={"Target": 1}), "InputParameters: Input should be a valid list"),
        (_with(InputParameters=[{"value": 1}]), "InputParameters.0 should be an object with"),
        (_with(InputParameters=[{"key": "Target", "value": "x"}]), "Target should be an Entity"),
        (_target_column("owner", {"__type": "EntityReference:x", "Id": "1"}), "GUID Id"),
        (_target_column("code", {"__type": "OptionSetValue:x", "Value": "2"}), "numeric Value"),
        (_with(PostEntityImages=[{"key": "img", "value": 5}]), "should be an Entity object"),
    ],
)
def test_a_body_that_is_not_a_context_is_refused_with_a_one_line_reason(
    body: bytes, reason: str
) -> None:
    with pytest.raises(InvalidWebhook) as caught:
        parse_event(body, bodies.headers())

    message = str(caught.value)
    assert reason in message
    assert "\n" not in message and len(message) < 500


def test_an_associate_without_related_records_is_refused() -> None:
    body = bodies.associate()
    body["InputParameters"] = body["InputParameters"][:2]

    with pytest.raises(InvalidWebhook, match="RelatedEntities should be a non-empty list"):
        parse_event(bodies.encode(body), bodies.headers())


def test_the_reason_never_echoes_huge_or_multi_line_keys() -> None:
    key = "k\n" * 100_000
    body = json.dumps({**bodies.update(), "Depth": {key: 1}}).encode()

    with pytest.raises(InvalidWebhook) as caught:
        parse_event(body, bodies.headers())

    message = str(caught.value)
    assert "Depth" in message and "\n" not in message and len(message) < 500
