"""Entity attribute metadata for contact, lead and account, over real HTTP."""

from __future__ import annotations

import pytest

from shared.clients import CrmAttribute, DataverseClient
from shared.errors import ApiError
from tests.fixtures.sandboxes import DataverseSandbox


@pytest.mark.parametrize(
    ("entity", "expected"),
    [
        ("contact", {"emailaddress1": ("Email", "String"), "birthdate": ("Birthday", "DateTime")}),
        (
            "lead",
            {"fullname": ("Name", "String"), "numberofemployees": ("No. of Employees", "Integer")},
        ),
        ("account", {"revenue": ("Annual Revenue", "Money"), "statecode": ("Status", "State")}),
    ],
)
def test_entity_attributes(
    dataverse_client: DataverseClient,
    dataverse_sandbox: DataverseSandbox,
    entity: str,
    expected: dict[str, tuple[str, str]],
) -> None:
    attributes = dataverse_client.entity_attributes(entity)

    seeded = dataverse_sandbox.state.attributes[entity]
    assert [a.logical_name for a in attributes] == [a.logical_name for a in seeded]
    assert all(a.entity == entity for a in attributes)
    by_name = {a.logical_name: a for a in attributes}
    for logical_name, (display_name, attribute_type) in expected.items():
        assert by_name[logical_name] == CrmAttribute(
            entity=entity,
            logical_name=logical_name,
            display_name=display_name,
            attribute_type=attribute_type,
        )


def test_contact_covers_the_marketing_columns(dataverse_client: DataverseClient) -> None:
    by_name = {a.logical_name: a for a in dataverse_client.entity_attributes("contact")}
    assert by_name["parentcustomerid"].attribute_type == "Customer"
    assert by_name["creditlimit"].attribute_type == "Money"
    assert by_name["donotbulkemail"].attribute_type == "Boolean"
    assert by_name["donotbulkemail"].display_name == "Do not allow Bulk Emails"
    assert by_name["firstname"].display_name == "First Name"


def test_display_name_falls_back_to_the_logical_name(dataverse_client: DataverseClient) -> None:
    by_name = {a.logical_name: a for a in dataverse_client.entity_attributes("contact")}
    # Internal companion columns carry no label at all.
    assert by_name["parentcustomeridname"].display_name == "parentcustomeridname"
    assert by_name["owneridtype"].display_name == "owneridtype"
    assert by_name["owneridtype"].attribute_type == "EntityName"


def test_label_only_in_another_language_is_used_before_the_logical_name(
    dataverse_client: DataverseClient, dataverse_sandbox: DataverseSandbox
) -> None:
    state = dataverse_sandbox.state
    state.add_attribute("contact", "new_kundennummer", "String")
    state.set_display_name("contact", "new_kundennummer", "Kundennummer", language=1031)

    by_name = {a.logical_name: a for a in dataverse_client.entity_attributes("contact")}

    assert by_name["new_kundennummer"].display_name == "Kundennummer"


def test_metadata_edits_show_up(
    dataverse_client: DataverseClient, dataverse_sandbox: DataverseSandbox
) -> None:
    state = dataverse_sandbox.state
    state.add_attribute("lead", "cr8a1_loyaltytier", "Picklist", "Loyalty Tier")
    state.set_display_name("lead", "emailaddress1", "E-mail")

    by_name = {a.logical_name: a for a in dataverse_client.entity_attributes("lead")}

    assert by_name["cr8a1_loyaltytier"].display_name == "Loyalty Tier"
    assert by_name["cr8a1_loyaltytier"].attribute_type == "Picklist"
    assert by_name["emailaddress1"].display_name == "E-mail"


def test_metadata_is_reset_between_tests(dataverse_client: DataverseClient) -> None:
    names = {a.logical_name for a in dataverse_client.entity_attributes("lead")}
    assert "cr8a1_loyaltytier" not in names


def test_unknown_entity_is_an_api_error(dataverse_client: DataverseClient) -> None:
    with pytest.raises(ApiError) as caught:
        dataverse_client.entity_attributes("new_nosuchtable")
    assert caught.value.status == 404
    assert caught.value.code == "0x80041102"
    assert "new_nosuchtable" in str(caught.value)


def test_logical_names_are_validated_before_any_call(dataverse_client: DataverseClient) -> None:
    with pytest.raises(ValueError, match="logical name"):
        dataverse_client.entity_attributes("contact')/x")


def test_table_info_says_whether_a_table_has_change_tracking(
    dataverse_client: DataverseClient, dataverse_sandbox: DataverseSandbox
) -> None:
    contact = dataverse_client.table_info("contact")
    assert contact is not None
    assert (contact.primary_id, contact.change_tracking, contact.is_activity) == (
        "contactid",
        True,
        False,
    )
    for tracked in ("lead", "account", "new_loyaltycard", "dms_emailsuppression"):
        found = dataverse_client.table_info(tracked)
        assert found is not None and found.change_tracking, tracked
    untracked = dataverse_client.table_info("new_visitlog")
    assert untracked is not None and not untracked.change_tracking
    send = dataverse_client.table_info("dms_acsemailsend")
    assert send is not None and send.is_activity and send.primary_id == "activityid"
    assert dataverse_client.table_info("new_nosuchtable") is None
    dataverse_sandbox.state.set_change_tracking("new_loyaltycard", False)
    switched = dataverse_client.table_info("new_loyaltycard")
    assert switched is not None and not switched.change_tracking
