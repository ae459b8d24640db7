"""The Dataverse sandbox's metadata writes over HTTP: what they create becomes a real table
(rows written, read and change-tracked; metadata reads show it), each in its solution, and
malformed definitions are refused as Dataverse refuses them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.dataverse import DataverseState
from tests.fixtures.sandboxes import DataverseSandbox

SOLUTION = {"MSCRM.SolutionUniqueName": "DynamicsMarketingSync"}
CRM = "Microsoft.Dynamics.CRM."


def label(text: str) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def table(schema_name: str = "dms_Visit", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": f"{CRM}EntityMetadata",
        "SchemaName": schema_name,
        "DisplayName": label("Visit"),
        "DisplayCollectionName": label("Visits"),
        "OwnershipType": "OrganizationOwned",
        "HasActivities": False,
        "ChangeTrackingEnabled": True,
        "Attributes": [
            {
                "@odata.type": f"{CRM}StringAttributeMetadata",
                "SchemaName": "dms_Name",
                "DisplayName": label("Name"),
                "IsPrimaryName": True,
                "MaxLength": 100,
            }
        ],
    }
    body.update(overrides)
    return body


def column(odata_type: str, schema_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": CRM + odata_type,
        "SchemaName": schema_name,
        "DisplayName": label(schema_name),
        **extra,
    }


def lookup(referenced: str = "contact", schema_name: str = "dms_contactid") -> dict[str, Any]:
    return {
        "@odata.type": f"{CRM}OneToManyRelationshipMetadata",
        "SchemaName": f"dms_visit_{schema_name}",
        "ReferencedEntity": referenced,
        "ReferencedAttribute": f"{referenced}id",
        "ReferencingEntity": "dms_visit",
        "ReferencingEntityNavigationPropertyName": schema_name,
        "Lookup": {
            "@odata.type": f"{CRM}LookupAttributeMetadata",
            "SchemaName": schema_name,
            "DisplayName": label("Contact"),
        },
    }


@pytest.fixture
def bare_org(dataverse_sandbox: DataverseSandbox) -> DataverseState:
    """An org without the connector's solution (request it before `dataverse_api`: a reset
    forgets the tokens issued so far)."""
    dataverse_sandbox.state.reset(connector_solution=False)
    return dataverse_sandbox.state


def post(api: httpx.Client, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return api.post(path, json=body, headers={**SOLUTION, **headers})


def error(response: httpx.Response) -> tuple[int, str, str]:
    found = response.json()["error"]
    return response.status_code, found["code"], found["message"]


def test_a_bare_org_has_none_of_the_connectors_tables(
    bare_org: DataverseState, dataverse_api: httpx.Client
) -> None:
    names = {t["LogicalName"] for t in dataverse_api.get("EntityDefinitions").json()["value"]}
    assert not {n for n in names if n.startswith("dms_")}
    assert "dms_optintype" not in bare_org.tables["contact"].definition.columns
    solutions = dataverse_api.get("solutions", params={"$select": "uniquename"}).json()["value"]
    assert solutions == []
    # A publisher and solution created through the Web API make the prefix usable.
    publisher = dataverse_api.post(
        "publishers",
        json={"uniquename": "dms", "friendlyname": "DMS", "customizationprefix": "dms",
              "customizationoptionvalueprefix": 72700},
    )  # fmt: skip
    assert publisher.status_code == 204
    solution = dataverse_api.post(
        "solutions",
        json={"uniquename": "DynamicsMarketingSync", "friendlyname": "DMS", "version": "1.0",
              "publisherid@odata.bind": publisher.headers["OData-EntityId"].split("v9.2")[1]},
    )  # fmt: skip
    assert solution.status_code == 204
    assert post(dataverse_api, "EntityDefinitions", table()).status_code == 204


def test_a_created_table_is_real_at_once(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    created = post(dataverse_api, "EntityDefinitions", table())
    assert created.status_code == 204, created.text
    entity = dataverse_api.get(
        "EntityDefinitions(LogicalName='dms_visit')",
        params={"$select": "LogicalName,EntitySetName,PrimaryNameAttribute,DisplayName,"
                "ChangeTrackingEnabled"},
    ).json()  # fmt: skip
    assert created.headers["OData-EntityId"].endswith(f"EntityDefinitions({entity['MetadataId']})")
    assert (entity["EntitySetName"], entity["PrimaryNameAttribute"]) == ("dms_visits", "dms_name")
    assert entity["DisplayName"]["UserLocalizedLabel"]["Label"] == "Visit"
    assert entity["ChangeTrackingEnabled"] is True

    picklist = column(
        "PicklistAttributeMetadata",
        "dms_Outcome",
        OptionSet={"IsGlobal": False, "OptionSetType": "Picklist",
                   "Options": [{"Value": 1, "Label": label("Met")},
                               {"Value": 2, "Label": label("Missed")}]},
    )  # fmt: skip
    attributes = "EntityDefinitions(LogicalName='dms_visit')/Attributes"
    assert post(dataverse_api, attributes, picklist).status_code == 204
    assert post(dataverse_api, "RelationshipDefinitions", lookup()).status_code == 204

    # Rows: written with the lookup's navigation property, read back, change-tracked.
    contact = dataverse_sandbox.state.insert("contact", {"lastname": "Lovelace"})
    tracked = dataverse_api.get(
        "dms_visits", params={"$select": "dms_name"}, headers={"Prefer": "odata.track-changes"}
    )
    delta = tracked.json()["@odata.deltaLink"]
    row = dataverse_api.post(
        "dms_visits",
        json={
            "dms_name": "First",
            "dms_outcome": 2,
            "dms_contactid@odata.bind": f"/contacts({contact})",
        },
    )
    assert row.status_code == 204, row.text
    read = dataverse_api.get(
        "dms_visits", params={"$select": "dms_name,dms_outcome,_dms_contactid_value"}
    )
    assert [
        (r["dms_name"], r["dms_outcome"], r["_dms_contactid_value"]) for r in read.json()["value"]
    ] == [("First", 2, contact)]
    assert [r["dms_name"] for r in dataverse_api.get(delta).json()["value"]] == ["First"]

    options = dataverse_api.get(
        f"{attributes}(LogicalName='dms_outcome')/{CRM}PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    ).json()["OptionSet"]["Options"]
    assert [(o["Value"], o["Label"]["UserLocalizedLabel"]["Label"]) for o in options] == [
        (1, "Met"),
        (2, "Missed"),
    ]
    targets = dataverse_api.get(f"{attributes}/{CRM}LookupAttributeMetadata").json()["value"]
    # Every table has its system lookups: who created a row.
    assert [(t["LogicalName"], t["Targets"]) for t in targets] == [
        ("createdby", ["systemuser"]), ("dms_contactid", ["contact"]),
    ]  # fmt: skip
    relationship = dataverse_api.get(
        "RelationshipDefinitions(SchemaName='dms_visit_dms_contactid')"
    )
    assert relationship.json()["ReferencedEntity"] == "contact"
    assert dataverse_sandbox.state.solution_components["DynamicsMarketingSync"] == [
        ("Entity", "dms_visit"),
        ("Attribute", "dms_visit.dms_outcome"),
        ("Relationship", "dms_visit_dms_contactid"),
    ]


def test_a_column_on_a_standard_table_shows_in_its_metadata(dataverse_api: httpx.Client) -> None:
    body = column("StringAttributeMetadata", "dms_Nickname", MaxLength=50)
    assert (
        post(dataverse_api, "EntityDefinitions(LogicalName='contact')/Attributes", body).status_code
        == 204
    )
    listed = dataverse_api.get(
        "EntityDefinitions(LogicalName='contact')/Attributes",
        params={"$select": "LogicalName,AttributeType", "$filter": "LogicalName eq 'dms_nickname'"},
    ).json()["value"]
    assert [(a["LogicalName"], a["AttributeType"]) for a in listed] == [("dms_nickname", "String")]


REFUSALS = [
    # (what, path, body, headers, status, code, message fragment)
    ("no prefix", "EntityDefinitions", table("new_Visit"), SOLUTION, 400, "0x80048062",
     "must start with a valid customization prefix"),
    ("duplicate table", "EntityDefinitions", table("dms_EmailSuppression"), SOLUTION, 400,
     "0x80048403", "An entity with the specified name already exists"),
    ("no primary name", "EntityDefinitions", table(Attributes=[]), SOLUTION, 400, "0x80048d19",
     "No attributes for Create Entity action."),
    ("primary name not text", "EntityDefinitions",
     table(Attributes=[column("IntegerAttributeMetadata", "dms_Number", IsPrimaryName=True)]),
     SOLUTION, 400, "0x80048d19", "Primary UI Attribute has to be of type String"),
    ("unknown solution", "EntityDefinitions", table(),
     {"MSCRM.SolutionUniqueName": "NoSuchSolution"}, 404, "0x80040217", "NoSuchSolution"),
    ("duplicate column", "EntityDefinitions(LogicalName='contact')/Attributes",
     column("BooleanAttributeMetadata", "dms_optintype"), SOLUTION, 400, "0x80047013",
     "An attribute with the specified name already exists"),
    ("unknown column type", "EntityDefinitions(LogicalName='contact')/Attributes",
     column("MoneyAttributeMetadata", "dms_Budget"), SOLUTION, 400, "0x80048d19",
     "MoneyAttributeMetadata"),
    ("no @odata.type", "EntityDefinitions(LogicalName='contact')/Attributes",
     {"SchemaName": "dms_Nickname", "MaxLength": 10}, SOLUTION, 400, "0x80048d19",
     "@odata.type is required"),
    ("text without MaxLength", "EntityDefinitions(LogicalName='contact')/Attributes",
     column("StringAttributeMetadata", "dms_Nickname"), SOLUTION, 400, "0x80048d19",
     "MaxLength is required"),
    ("column of an unknown table", "EntityDefinitions(LogicalName='dms_nothing')/Attributes",
     column("StringAttributeMetadata", "dms_Nickname", MaxLength=10), SOLUTION, 404,
     "0x80041102", "was not found in the MetadataCache"),
    ("lookup to an unknown table", "RelationshipDefinitions",
     {**lookup("dms_nothing"), "ReferencingEntity": "dms_emailsuppression"}, SOLUTION, 404,
     "0x80041102", "'dms_nothing'"),
    ("relationship without its type", "RelationshipDefinitions",
     {k: v for k, v in lookup().items() if k != "@odata.type"}, SOLUTION, 400, "0x80048d19",
     "OneToManyRelationshipMetadata"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "code", "fragment"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_malformed_definitions_are_refused_and_change_nothing(
    dataverse_sandbox: DataverseSandbox,
    dataverse_api: httpx.Client,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    code: str,
    fragment: str,
) -> None:
    state = dataverse_sandbox.state
    before = {name: dict(t.definition.columns) for name, t in state.tables.items()}
    response = dataverse_api.post(path, json=body, headers=headers)
    found_status, found_code, message = error(response)
    assert (found_status, found_code) == (status, code), message
    assert fragment in message
    assert {name: dict(t.definition.columns) for name, t in state.tables.items()} == before
    assert state.solution_components == {}


def test_without_the_customizer_role_metadata_writes_are_forbidden(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.deny_customization = True
    status, code, message = error(post(dataverse_api, "EntityDefinitions", table()))
    assert (status, code) == (403, "0x80040220")
    assert "missing prvCreateEntity privilege" in message


def test_a_custom_activity_table_gets_the_activity_columns(dataverse_api: httpx.Client) -> None:
    """IsActivity: user-owned, primary name Subject; then a row regarding a contact reads back
    with its subject and regarding id, and shows as an activity in the metadata."""
    subject = {
        "@odata.type": f"{CRM}StringAttributeMetadata",
        "SchemaName": "Subject",
        "DisplayName": label("Subject"),
        "IsPrimaryName": True,
        "MaxLength": 200,
    }
    org_owned = table("dms_Ping", IsActivity=True, Attributes=[subject])
    assert error(post(dataverse_api, "EntityDefinitions", org_owned))[0] == 400
    named = table("dms_Ping", IsActivity=True, OwnershipType="UserOwned")
    assert error(post(dataverse_api, "EntityDefinitions", named))[0] == 400  # not Subject
    body = table("dms_Ping", IsActivity=True, OwnershipType="UserOwned", Attributes=[subject])
    created = post(dataverse_api, "EntityDefinitions", body)
    assert created.status_code == 204, created.text
    entity = dataverse_api.get(
        "EntityDefinitions(LogicalName='dms_ping')",
        params={"$select": "IsActivity,PrimaryIdAttribute,PrimaryNameAttribute"},
    ).json()
    assert (entity["IsActivity"], entity["PrimaryIdAttribute"], entity["PrimaryNameAttribute"]) == (
        True,
        "activityid",
        "subject",
    )
    contact = dataverse_api.post("contacts", json={"lastname": "Lovelace"})
    contact_id = contact.headers["OData-EntityId"].split("(")[1].rstrip(")")
    row = dataverse_api.post(
        "dms_pings",
        json={
            "subject": "C1 D1",
            "regardingobjectid_contact_dms_ping@odata.bind": f"/contacts({contact_id})",
        },
    )
    assert row.status_code == 204, row.text
    [read] = dataverse_api.get(
        "dms_pings", params={"$select": "subject,_regardingobjectid_value"}
    ).json()["value"]
    assert (read["subject"], read["_regardingobjectid_value"]) == ("C1 D1", contact_id)
