"""Table metadata, the service document and WhoAmI, as a general Dataverse client first calls
them; compared with Microsoft's samples (tests/fixtures/dataverse_samples/) where they exist.

Ids, the organization URI and label MetadataIds differ by nature and are compared as GUIDs;
everything else must be equal.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fixtures.sandboxes import DataverseSandbox
from tests.sandbox.test_dataverse_fidelity import GUID, sample

ORG = "[Organization URI]"


def masked(sandbox: DataverseSandbox, body: Any) -> Any:
    """The body with this sandbox's URL as `[Organization URI]` and every GUID as `<guid>`."""
    return json.loads(GUID.sub("<guid>", json.dumps(body).replace(sandbox.url, ORG)))


def documented(name: str) -> Any:
    return json.loads(GUID.sub("<guid>", sample(name).body))


def assert_documented_headers(name: str, response: httpx.Response) -> None:
    for key, value in sample(name).headers:
        assert response.headers.get(key) == value, key


# Samples --------------------------------------------------------------------------------------


def test_table_then_column_by_metadata_id_as_documented(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    """retrieve-metadata-name-metadataid.md: the table's MetadataId by filter, the column's
    MetadataId by filter, then the column by both ids with the Picklist cast and options."""
    table = dataverse_api.get(
        "EntityDefinitions", params={"$filter": "LogicalName eq 'account'", "$select": "MetadataId"}
    )
    assert table.status_code == 200
    assert_documented_headers("entity_definitions_filter_metadataid.http", table)
    assert masked(dataverse_sandbox, table.json()) == documented(
        "entity_definitions_filter_metadataid.http"
    )
    (entity_id,) = [row["MetadataId"] for row in table.json()["value"]]

    column = dataverse_api.get(
        f"EntityDefinitions({entity_id})/Attributes",
        params={"$filter": "LogicalName eq 'accountcategorycode'", "$select": "MetadataId"},
    )
    assert column.status_code == 200
    assert masked(dataverse_sandbox, column.json()) == documented(
        "attributes_filter_metadataid.http"
    )
    assert column.json()["@odata.context"].endswith(
        f"#EntityDefinitions({entity_id})/Attributes(MetadataId)"
    )
    (attribute_id,) = [row["MetadataId"] for row in column.json()["value"]]

    expected = documented("picklist_option_set.http")
    for path in (
        f"EntityDefinitions({entity_id})/Attributes({attribute_id})",
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='accountcategorycode')",
    ):
        options = dataverse_api.get(
            f"{path}/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            params={
                "$select": "LogicalName",
                "$expand": "OptionSet($select=Options),GlobalOptionSet($select=Options)",
            },
        )
        assert options.status_code == 200, options.text
        assert_documented_headers("picklist_option_set.http", options)
        body = options.json()
        assert list(body) == list(expected)  # key order too
        assert masked(dataverse_sandbox, body) == expected
        assert body["MetadataId"] == attribute_id


def test_table_properties_as_documented(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    """query-metadata-web-api.md: DisplayName, IsKnowledgeManagementEnabled, EntitySetName.
    The doc's answer is collection-shaped (`value`), so it is the answer to the filtered
    collection; the `(LogicalName='account')` form answers the same entity as `/$entity`."""
    select = "DisplayName,IsKnowledgeManagementEnabled,EntitySetName"
    expected = documented("entity_definition_select.http")
    expected["@odata.context"] = expected["@odata.context"].replace("/v9.0/", "/v9.2/")

    collection = dataverse_api.get(
        "EntityDefinitions", params={"$select": select, "$filter": "LogicalName eq 'account'"}
    )
    assert_documented_headers("entity_definition_select.http", collection)
    body = masked(dataverse_sandbox, collection.json())
    assert body == expected
    assert list(body["value"][0]) == list(expected["value"][0])

    one = dataverse_api.get("EntityDefinitions(LogicalName='account')", params={"$select": select})
    assert one.status_code == 200
    assert masked(dataverse_sandbox, one.json()) == {
        "@odata.context": expected["@odata.context"] + "/$entity",
        **expected["value"][0],
    }


def test_who_am_i_as_documented(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    answers = [dataverse_api.get(path) for path in ("WhoAmI", "WhoAmI()")]
    for response in answers:
        assert response.status_code == 200
        assert_documented_headers("who_am_i.http", response)
        body = response.json()
        assert list(body) == list(sample("who_am_i.http").json())
        assert masked(dataverse_sandbox, body) == documented("who_am_i.http")
    assert answers[0].json() == answers[1].json()  # the same user every time


def test_service_document_as_documented(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    response = dataverse_api.get("")
    assert response.status_code == 200
    body = response.json()
    expected = sample("service_document.http").json()
    assert list(body) == list(expected)
    assert body["@odata.context"] == f"{dataverse_sandbox.url}/api/data/v9.2/$metadata"
    assert all(list(item) == ["name", "kind", "url"] for item in body["value"])
    names = [item["name"] for item in body["value"]]
    assert names == sorted(names, key=str.lower)  # as in the sample: accountlead.. < accounts
    assert {"accounts", "contacts", "leads", "lists", "EntityDefinitions"} <= set(names)
    # A client can follow every entry.
    for item in body["value"]:
        assert item["kind"] == "EntitySet" and item["url"] == item["name"]
        page = dataverse_api.get(item["url"], headers={"Prefer": "odata.maxpagesize=1"})
        assert page.status_code == 200, item["url"]
    assert dataverse_api.get(f"{dataverse_sandbox.url}/api/data/v9.2").status_code == 200


# What a general client asks for ---------------------------------------------------------------

TABLE_SELECT = (
    "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,MetadataId,"
    "ChangeTrackingEnabled,CanChangeTrackingBeEnabled"
)


def test_tables_with_their_columns_in_one_request(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.set_change_tracking("lead", False)
    response = dataverse_api.get(
        "EntityDefinitions",
        params={
            "$select": TABLE_SELECT,
            "$expand": "Attributes($select=LogicalName,AttributeType)",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith(
        f"$metadata#EntityDefinitions({TABLE_SELECT},Attributes(LogicalName,AttributeType))"
    )
    tables = {row["LogicalName"]: row for row in body["value"]}
    assert {"contact", "lead", "account", "list", "annotation", "task"} <= set(tables)
    contact = tables["contact"]
    assert list(contact) == [
        "LogicalName",
        "EntitySetName",
        "PrimaryIdAttribute",
        "PrimaryNameAttribute",
        "ChangeTrackingEnabled",
        "CanChangeTrackingBeEnabled",
        "MetadataId",
        "Attributes",
    ]
    assert (contact["EntitySetName"], contact["PrimaryIdAttribute"]) == ("contacts", "contactid")
    assert contact["PrimaryNameAttribute"] == "fullname"
    assert contact["ChangeTrackingEnabled"] is True
    assert tables["lead"]["ChangeTrackingEnabled"] is False
    assert contact["CanChangeTrackingBeEnabled"]["Value"] is True
    columns = {a["LogicalName"]: a for a in contact["Attributes"]}
    assert columns["emailaddress1"] == {
        "@odata.type": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "LogicalName": "emailaddress1",
        "AttributeType": "String",
        "MetadataId": columns["emailaddress1"]["MetadataId"],
    }
    # Tables without seeded column metadata still list their columns.
    assert "listname" in {a["LogicalName"] for a in tables["list"]["Attributes"]}
    # The same ids as the product's own column query.
    own = dataverse_api.get("EntityDefinitions(LogicalName='contact')/Attributes")
    assert {a["LogicalName"]: a["MetadataId"] for a in own.json()["value"]} == {
        name: a["MetadataId"] for name, a in columns.items()
    }


def test_metadata_ids_are_stable_and_address_the_table(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    def ids() -> dict[str, str]:
        response = dataverse_api.get("EntityDefinitions", params={"$select": "LogicalName"})
        return {row["LogicalName"]: row["MetadataId"] for row in response.json()["value"]}

    first = ids()
    dataverse_sandbox.state.reset(clock=dataverse_sandbox.state.clock)
    dataverse_sandbox.state.tokens.clear()
    dataverse_api.headers["Authorization"] = "Bearer " + fresh_token(dataverse_sandbox)
    assert ids() == first
    assert len(set(first.values())) == len(first)

    by_id = dataverse_api.get(
        f"EntityDefinitions({first['lead']})", params={"$select": "LogicalName,EntitySetName"}
    )
    assert by_id.status_code == 200
    assert by_id.json() == {
        "@odata.context": f"{dataverse_sandbox.url}/api/data/v9.2/$metadata#EntityDefinitions"
        "(LogicalName,EntitySetName)/$entity",
        "LogicalName": "lead",
        "EntitySetName": "leads",
        "MetadataId": first["lead"],
    }


def test_expanded_columns_filtered_by_an_enum_as_documented(
    dataverse_api: httpx.Client,
) -> None:
    """The `$expand` example of query-metadata-web-api.md (options separated by `;`)."""
    response = dataverse_api.get(
        "EntityDefinitions(LogicalName='account')",
        params={
            "$select": "LogicalName",
            "$expand": "Attributes($select=LogicalName;$filter=AttributeType eq "
            "Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist')",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["LogicalName"] == "account"
    # The sample's org has no connector; the sandbox's installed solution adds dms_optintype.
    names = [a["LogicalName"] for a in body["Attributes"]]
    assert names == ["accountcategorycode", "industrycode", "dms_optintype"]
    assert all(a["@odata.type"].endswith("PicklistAttributeMetadata") for a in body["Attributes"])


def test_filter_on_change_tracking(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    """The check in use-change-tracking-synchronize-data-external-systems.md."""
    response = dataverse_api.get(
        "EntityDefinitions",
        params={"$select": "LogicalName", "$filter": "ChangeTrackingEnabled eq true"},
    )
    names = {row["LogicalName"] for row in response.json()["value"]}
    assert {"contact", "lead", "account"} <= names
    assert "annotation" not in names


def test_datetime_behavior_through_the_cast(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    response = dataverse_api.get(
        "EntityDefinitions(LogicalName='contact')/Attributes/"
        "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
        params={"$select": "LogicalName,DateTimeBehavior"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith(
        "#EntityDefinitions('contact')/Attributes/Microsoft.Dynamics.CRM."
        "DateTimeAttributeMetadata(LogicalName,DateTimeBehavior)"
    )
    behaviors = {row["LogicalName"]: row["DateTimeBehavior"] for row in body["value"]}
    assert behaviors["birthdate"] == {"Value": "DateOnly"}
    assert behaviors["createdon"] == {"Value": "UserLocal"}
    assert "firstname" not in behaviors  # only DateTime columns


def test_picklist_cast_lists_the_options_of_every_choice_column(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    response = dataverse_api.get(
        "EntityDefinitions(LogicalName='contact')/Attributes/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options),GlobalOptionSet"},
    )
    assert response.status_code == 200
    rows = {row["LogicalName"]: row for row in response.json()["value"]}
    # dms_optintype: the connector's solution, installed in the sandbox by default.
    assert set(rows) == {"gendercode", "preferredcontactmethodcode", "dms_optintype"}
    opt_in = rows["dms_optintype"]["OptionSet"]["Options"]
    assert [o["Label"]["UserLocalizedLabel"]["Label"] for o in opt_in] == [
        "Unknown",
        "Single",
        "Double",
        "VerifiedDouble",
    ]
    gender = rows["gendercode"]
    labels = [o["Label"]["UserLocalizedLabel"]["Label"] for o in gender["OptionSet"]["Options"]]
    assert [o["Value"] for o in gender["OptionSet"]["Options"]] == [1, 2]
    assert labels == ["Male", "Female"]
    assert gender["GlobalOptionSet"]["Name"] == "contact_gendercode"

    attribute_id = gender["MetadataId"]
    option_set = dataverse_api.get(
        f"EntityDefinitions(LogicalName='contact')/Attributes({attribute_id})/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata/OptionSet",
        params={"$select": "Options"},
    )
    assert option_set.status_code == 200
    assert option_set.json()["@odata.context"].endswith(
        f"#EntityDefinitions('contact')/Attributes({attribute_id})/Microsoft.Dynamics.CRM."
        "PicklistAttributeMetadata/OptionSet(Options)/$entity"
    )
    assert option_set.json()["Options"] == gender["OptionSet"]["Options"]


# Refused, never ignored -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (
            "EntityDefinitions",
            {"$select": "LogicalName,Nonsense"},
            "Could not find a property named 'Nonsense' on type "
            "'Microsoft.Dynamics.CRM.EntityMetadata'.",
        ),
        (
            "EntityDefinitions(LogicalName='contact')",
            {"$select": "LogicalName", "$expand": "Attributes($select=LogicalName,Nonsense)"},
            "Could not find a property named 'Nonsense' on type "
            "'Microsoft.Dynamics.CRM.AttributeMetadata'.",
        ),
        (
            "EntityDefinitions(LogicalName='contact')/Attributes/"
            "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
            {"$select": "LogicalName,Precision"},
            "Could not find a property named 'Precision' on type "
            "'Microsoft.Dynamics.CRM.DateTimeAttributeMetadata'.",
        ),
        (
            "EntityDefinitions",
            {"$filter": "Nonsense eq 'x'"},
            "Could not find a property named 'Nonsense' on type "
            "'Microsoft.Dynamics.CRM.EntityMetadata'.",
        ),
        (
            "EntityDefinitions",
            {"$filter": "LogicalName eq 'contact' or LogicalName eq 'lead'"},
            "The $filter 'LogicalName eq 'contact' or LogicalName eq 'lead'' is not supported "
            "by the sandbox on metadata: it accepts one 'Property eq value' comparison with a "
            "string, boolean or enum literal.",
        ),
        (
            "EntityDefinitions",
            {"$top": "1"},
            "The query parameter $top is not supported by the sandbox.",
        ),
    ],
)
def test_what_metadata_does_not_have_is_a_400(
    dataverse_api: httpx.Client, path: str, params: dict[str, str], message: str
) -> None:
    response = dataverse_api.get(path, params=params)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "0x0", "message": message}}


def test_unsupported_cast_and_unknown_table_are_refused(dataverse_api: httpx.Client) -> None:
    cast = dataverse_api.get(
        "EntityDefinitions(LogicalName='account')/Attributes/"
        "Microsoft.Dynamics.CRM.MoneyAttributeMetadata"
    )
    assert cast.status_code == 400
    assert "MoneyAttributeMetadata is not supported" in cast.json()["error"]["message"]
    missing = dataverse_api.get("EntityDefinitions(LogicalName='nosuchtable')")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message"}


def test_metadata_and_who_am_i_need_a_token(dataverse_sandbox: DataverseSandbox) -> None:
    with dataverse_sandbox.http_client() as http:
        for path in ("", "WhoAmI()", "EntityDefinitions"):
            response = http.get(f"{dataverse_sandbox.url}/api/data/v9.2/{path}")
            assert response.status_code == 401, path


def fresh_token(sandbox: DataverseSandbox) -> str:
    with sandbox.http_client() as http:
        response = http.post(
            f"{sandbox.url}/{sandbox.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sandbox.client_id,
                "client_secret": sandbox.client_secret.get_secret_value(),
                "scope": f"{sandbox.url}/.default",
            },
        )
        return str(response.json()["access_token"])
