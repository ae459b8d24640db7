"""Query options general Dataverse clients send, against Microsoft's samples
(tests/fixtures/dataverse_samples/): `$count`, formatted values and lookup annotations,
single-valued `$expand`, `$orderby`; and what the sandbox refuses instead of ignoring."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import httpx
import pytest

from tests.fixtures.sandboxes import DataverseSandbox
from tests.sandbox.test_dataverse_fidelity import ETAG, assert_headers_present, org, sample

QUERY_ERROR = "0x80060888"
FORMATTED = "OData.Community.Display.V1.FormattedValue"
SUSANNA = "70bf4d48-34cb-ed11-b596-0022481d68cd"
NANCY = "72bf4d48-34cb-ed11-b596-0022481d68cd"
LITWARE = "78914942-34cb-ed11-b596-0022481d68cd"
ADVENTURE = "7a914942-34cb-ed11-b596-0022481d68cd"


def assert_refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400
    assert response.json() == {"error": {"code": QUERY_ERROR, "message": message}}


def sample_accounts(sandbox: DataverseSandbox) -> None:
    state = sandbox.state
    for contact_id, first, last in (
        (SUSANNA, "Susanna", "Stubberod (sample)"),
        (NANCY, "Nancy", "Anderson (sample)"),
    ):
        state.insert("contact", {"contactid": contact_id, "firstname": first, "lastname": last})
    for account_id, name, contact in (
        (LITWARE, "Litware, Inc. (sample)", SUSANNA),
        (ADVENTURE, "Adventure Works (sample)", NANCY),
    ):
        state.insert(
            "account",
            {
                "accountid": account_id,
                "name": name,
                "revenue": 20000.0,
                "primarycontactid@odata.bind": f"contacts({contact})",
            },
        )


# $count -----------------------------------------------------------------------------------------


def test_count_is_the_documented_annotation_whatever_the_page_size(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("count_rows.http")
    expected = documented.json()
    for number in range(9):
        dataverse_sandbox.state.insert("account", {"name": f"Account {number}"})

    response = dataverse_api.get("accounts", params={"$select": "accountid", "$count": "true"})
    paged = dataverse_api.get(
        "accounts",
        params={"$select": "accountid", "$count": "true"},
        headers={"Prefer": "odata.maxpagesize=4"},
    )

    assert_headers_present(documented.headers, response)
    body = response.json()
    assert list(body) == list(expected)
    assert (
        org(dataverse_sandbox, body["@odata.context"], "[Organization URI]")
        == (expected["@odata.context"])
    )
    assert body["@odata.count"] == expected["@odata.count"] == 9
    assert list(body["value"][0]) == list(expected["value"][0])
    assert paged.json()["@odata.count"] == 9 and len(paged.json()["value"]) == 4
    second = dataverse_api.get(
        paged.json()["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=4"}
    )
    assert second.json()["@odata.count"] == 9


def test_count_annotations_follow_the_documented_order_and_values(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    for number in range(10):
        dataverse_sandbox.state.insert("account", {"name": f"Account {number} (sample)"})
    dataverse_sandbox.state.insert("account", {"name": "Other"})
    params = {"$select": "name", "$filter": "contains(name,'sample')", "$count": "true"}
    prefer = 'odata.maxpagesize=3,odata.include-annotations="Microsoft.Dynamics.CRM.*"'

    response = dataverse_api.get("accounts", params=params, headers={"Prefer": prefer})
    uncounted = dataverse_api.get(
        "accounts",
        params={"$select": "name"},
        headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount"'},
    )

    body = response.json()
    # count-rows.md: context, count, the two annotations, value, nextLink; fewer than 5,000
    # rows -> the actual count and limitexceeded false.
    assert list(body) == [
        "@odata.context",
        "@odata.count",
        "@Microsoft.Dynamics.CRM.totalrecordcount",
        "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded",
        "value",
        "@odata.nextLink",
    ]
    assert body["@odata.count"] == body["@Microsoft.Dynamics.CRM.totalrecordcount"] == 10
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    assert response.headers["preference-applied"] == (
        'odata.maxpagesize=3,odata.include-annotations="Microsoft.Dynamics.CRM.*"'
    )
    assert uncounted.json()["@Microsoft.Dynamics.CRM.totalrecordcount"] == -1


def test_count_stops_at_five_thousand(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.seed_data(accounts=5_001)

    body = dataverse_api.get(
        "accounts",
        params={"$select": "name", "$count": "true"},
        headers={"Prefer": 'odata.maxpagesize=1,odata.include-annotations="*"'},
    ).json()

    assert body["@odata.count"] == body["@Microsoft.Dynamics.CRM.totalrecordcount"] == 5_000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True


# Formatted values and lookup annotations --------------------------------------------------------


def test_formatted_values_match_the_documented_record(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("formatted_values.http")
    expected = documented.json()["value"][0]
    sample_accounts(dataverse_sandbox)
    prefer = dict(documented.headers)["Preference-Applied"]

    response = dataverse_api.get(
        "accounts",
        params={
            "$select": "name,revenue,_primarycontactid_value,modifiedon",
            "$filter": f"accountid eq {LITWARE}",
        },
        headers={"Prefer": prefer},
    )

    assert_headers_present(documented.headers, response)
    (record,) = response.json()["value"]
    # The sandbox has no customertypecode column and no currency lookup: the rest is the same
    # sequence of annotation-then-value keys.
    absent = ("customertypecode", "_transactioncurrencyid_value")
    assert list(record) == [k for k in expected if not k.startswith(absent)]
    assert ETAG.match(record["@odata.etag"])
    for name in ("name", "revenue", f"revenue@{FORMATTED}", "_primarycontactid_value"):
        assert record[name] == expected[name], name
    assert record[f"_primarycontactid_value@{FORMATTED}"] == "Susanna Stubberod (sample)"
    assert (
        record[f"_primarycontactid_value@{FORMATTED}"]
        == (expected[f"_primarycontactid_value@{FORMATTED}"])
    )
    # Dates are formatted like the sample ("4/7/2023 2:59 PM"), in the sandbox user's zone (UTC).
    when = re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d [AP]M$")
    assert when.match(record[f"modifiedon@{FORMATTED}"])
    assert when.match(expected[f"modifiedon@{FORMATTED}"])
    stamp = record["modifiedon"]
    hour = int(stamp[11:13])
    assert record[f"modifiedon@{FORMATTED}"] == (
        f"{int(stamp[5:7])}/{int(stamp[8:10])}/{stamp[:4]} {hour % 12 or 12}:{stamp[14:16]} "
        f"{'AM' if hour < 12 else 'PM'}"
    )


def test_lookup_annotations_match_the_documented_record(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("lookup_annotations.http")
    expected = documented.json()
    sample_accounts(dataverse_sandbox)
    prefer = dict(documented.headers)["Preference-Applied"]

    response = dataverse_api.get(
        "accounts",
        params={"$select": "name,_ownerid_value", "$filter": f"accountid eq {LITWARE}"},
        headers={"Prefer": prefer},
    )

    assert_headers_present(documented.headers, response)
    body = response.json()
    assert (
        org(dataverse_sandbox, body["@odata.context"], "[Organization URI]")
        == (expected["@odata.context"])
    )
    (record,) = body["value"]
    (want,) = expected["value"]
    assert list(record) == list(want)
    for key in (
        "_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty",
        "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname",
    ):
        assert record[key] == want[key]


def test_star_asks_for_every_annotation_the_sandbox_has(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    sample_accounts(dataverse_sandbox)
    contact_id = dataverse_sandbox.state.insert(
        "contact",
        {"lastname": "Jones", "parentcustomerid_account@odata.bind": f"accounts({LITWARE})"},
    )

    response = dataverse_api.get(
        f"contacts({contact_id})",
        params={"$select": "_parentcustomerid_value,donotbulkemail,statecode"},
        headers={"Prefer": 'odata.include-annotations="*"'},
    )

    assert response.headers["preference-applied"] == 'odata.include-annotations="*"'
    body = response.json()
    lookup = "_parentcustomerid_value"
    assert [k for k in body if k.startswith(lookup)] == [
        f"{lookup}@{FORMATTED}",
        f"{lookup}@Microsoft.Dynamics.CRM.associatednavigationproperty",
        f"{lookup}@Microsoft.Dynamics.CRM.lookuplogicalname",
        lookup,
    ]
    assert body[f"{lookup}@{FORMATTED}"] == "Litware, Inc. (sample)"
    assert body[f"{lookup}@Microsoft.Dynamics.CRM.associatednavigationproperty"] == (
        "parentcustomerid_account"
    )
    assert body[f"{lookup}@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    # Yes/no and status columns carry their labels (contact.md: donotbulkemail true is
    # "Do Not Allow"; statecode 0 is Active).
    assert body[f"donotbulkemail@{FORMATTED}"] == "Allow"
    assert body[f"statecode@{FORMATTED}"] == "Active"


def test_annotations_the_sandbox_does_not_produce_are_not_claimed(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.insert("contact", {"lastname": "Jones"})
    unknown = 'odata.include-annotations="Microsoft.Dynamics.CRM.nonexistent"'
    mixed = f'odata.include-annotations="{FORMATTED},Example.Unknown"'

    none_applied = dataverse_api.get(
        "contacts", params={"$select": "lastname"}, headers={"Prefer": unknown}
    )
    some_applied = dataverse_api.get(
        "contacts", params={"$select": "statecode"}, headers={"Prefer": mixed}
    )

    # OData: Preference-Applied names what was applied; nothing else is echoed back.
    assert none_applied.status_code == 200
    assert "preference-applied" not in none_applied.headers
    assert some_applied.headers["preference-applied"] == (
        f'odata.include-annotations="{FORMATTED}"'
    )
    assert f"statecode@{FORMATTED}" in some_applied.json()["value"][0]


def test_fetchxml_echoes_only_the_annotations_it_applies(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.insert("contact", {"lastname": "Jones"})
    fetch = "<fetch><entity name='contact'><attribute name='lastname' /></entity></fetch>"

    response = dataverse_api.get(
        "contacts",
        params={"fetchXml": fetch},
        headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.morerecords,X.Y"'},
    )

    assert response.headers["preference-applied"] == (
        'odata.include-annotations="Microsoft.Dynamics.CRM.morerecords"'
    )
    assert response.json()["@Microsoft.Dynamics.CRM.morerecords"] is False


# $expand ----------------------------------------------------------------------------------------


def test_single_valued_expand_matches_the_documented_page(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("expand_single_valued.http")
    expected = documented.json()
    sample_accounts(dataverse_sandbox)
    dataverse_sandbox.state.insert("account", {"name": "Third (no contact)"})
    expand = "primarycontactid($select=contactid,fullname)"

    response = dataverse_api.get(
        "accounts",
        params={"$select": "name", "$expand": expand},
        headers={"Prefer": "odata.maxpagesize=2"},
    )

    assert_headers_present(documented.headers, response)
    body = response.json()
    assert list(body) == list(expected)
    # The sandbox has no systemuser table: the sample without its `createdby` expansion.
    assert org(dataverse_sandbox, body["@odata.context"], "[Organization URI]") == (
        expected["@odata.context"].replace(",createdby(fullname)", "")
    )
    for got, want in zip(body["value"], expected["value"], strict=True):
        want = {k: v for k, v in want.items() if k != "createdby"}
        assert list(got) == list(want)
        assert {k: v for k, v in got.items() if k != "@odata.etag"} == {
            k: v for k, v in want.items() if k != "@odata.etag"
        }
    link = urllib.parse.unquote(body["@odata.nextLink"])
    assert f"$expand={expand}&$skiptoken=" in link
    last = dataverse_api.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"})
    assert last.json()["value"][0]["primarycontactid"] is None


def test_expanding_a_customer_lookup_by_one_of_its_navigation_properties(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    sample_accounts(dataverse_sandbox)
    state = dataverse_sandbox.state
    with_account = state.insert(
        "contact", {"lastname": "A", "parentcustomerid_account@odata.bind": f"accounts({LITWARE})"}
    )
    with_contact = state.insert(
        "contact", {"lastname": "B", "parentcustomerid_contact@odata.bind": f"contacts({NANCY})"}
    )
    params = {"$select": "fullname", "$expand": "parentcustomerid_account($select=name)"}

    listed = dataverse_api.get("contacts", params=params).json()
    one = dataverse_api.get(f"contacts({with_account})", params=params).json()

    by_id = {r["contactid"]: r for r in listed["value"]}
    assert listed["@odata.context"].endswith(
        "$metadata#contacts(fullname,parentcustomerid_account(name))"
    )
    assert by_id[with_account]["parentcustomerid_account"] == {
        "name": "Litware, Inc. (sample)",
        "accountid": LITWARE,
    }
    assert by_id[with_contact]["parentcustomerid_account"] is None  # the parent is a contact
    assert one["parentcustomerid_account"] == by_id[with_account]["parentcustomerid_account"]
    assert one["@odata.context"].endswith(
        "$metadata#contacts(fullname,parentcustomerid_account(name))/$entity"
    )


@pytest.mark.parametrize(
    ("expand", "message"),
    [
        (
            "listcontact_association",
            "Expanding the collection-valued navigation property listcontact_association is "
            "not simulated by the sandbox (see sandbox/README.md).",
        ),
        (
            "parentcustomerid_account($select=name;$expand=primarycontactid)",
            "The option $expand inside $expand is not simulated by the sandbox (see "
            "sandbox/README.md).",
        ),
        (
            "parentcustomerid_account/$ref",
            "$expand with /$ref is not simulated by the sandbox (see sandbox/README.md).",
        ),
    ],
)
def test_expansions_the_sandbox_does_not_simulate_are_refused(
    dataverse_api: httpx.Client, expand: str, message: str
) -> None:
    response = dataverse_api.get("contacts", params={"$select": "fullname", "$expand": expand})

    assert_refused(response, message)


def test_expanding_an_unknown_navigation_property_is_the_documented_400(
    dataverse_api: httpx.Client,
) -> None:
    response = dataverse_api.get("contacts", params={"$expand": "parentcustomerid"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Could not find a property named 'parentcustomerid' on type "
        "'Microsoft.Dynamics.CRM.contact'."
    )


# $orderby ---------------------------------------------------------------------------------------


def test_orderby_orders_every_page(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    people = [("Ann", "Young"), ("Bob", "adams"), ("Cy", None), ("Al", "Young"), ("Di", "Moss")]
    for first, last in people:
        dataverse_sandbox.state.insert("contact", {"firstname": first, "lastname": last})
    prefer = {"Prefer": "odata.maxpagesize=2"}

    names: list[tuple[Any, Any]] = []
    page = dataverse_api.get(
        "contacts",
        params={"$select": "firstname,lastname", "$orderby": "lastname desc,firstname"},
        headers=prefer,
    ).json()
    ascending = dataverse_api.get(
        "contacts", params={"$select": "lastname", "$orderby": "lastname"}
    ).json()
    while True:
        names += [(r["firstname"], r["lastname"]) for r in page["value"]]
        if "@odata.nextLink" not in page:
            break
        page = dataverse_api.get(page["@odata.nextLink"], headers=prefer).json()

    assert names == [
        ("Al", "Young"),
        ("Ann", "Young"),
        ("Di", "Moss"),
        ("Bob", "adams"),
        ("Cy", None),
    ]
    # Ascending, nulls come first and case does not matter (SQL Server's default collation).
    assert [r["lastname"] for r in ascending["value"]] == [None, "adams", "Moss", "Young", "Young"]


def test_orderby_an_unknown_column_is_the_documented_400(dataverse_api: httpx.Client) -> None:
    response = dataverse_api.get("contacts", params={"$orderby": "LastName"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Could not find a property named 'LastName' on type 'Microsoft.Dynamics.CRM.contact'."
    )


# Refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (
            "contacts",
            {"sql": "SELECT fullname FROM contact"},
            "The query parameter sql is not supported",
        ),
        ("contacts", {"$skip": "10"}, "The query parameter $skip is not supported"),
        (
            "contacts",
            {"$select": "fullname", "utm_source": "x"},
            "The query parameter utm_source is not supported",
        ),
        (
            "contacts",
            {"$apply": "aggregate($count as n)"},
            "The query option $apply is not simulated by the sandbox (see sandbox/README.md).",
        ),
        (
            "lists",
            {"savedQuery": "00000000-0000-0000-0000-000000000001"},
            "The query option savedQuery is not simulated by the sandbox (see sandbox/README.md).",
        ),
    ],
)
def test_unknown_query_options_are_refused_not_ignored(
    dataverse_sandbox: DataverseSandbox,
    dataverse_api: httpx.Client,
    path: str,
    params: dict[str, str],
    message: str,
) -> None:
    dataverse_sandbox.state.seed_data(contacts=3)

    response = dataverse_api.get(path, params=params)

    assert_refused(response, message)


def test_unknown_query_options_are_refused_on_every_resource(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    contact_id = dataverse_sandbox.state.insert("contact", {"lastname": "Jones"})

    record = dataverse_api.get(f"contacts({contact_id})", params={"foo": "1"})
    update = dataverse_api.patch(
        f"contacts({contact_id})", params={"foo": "1"}, json={"lastname": "Smith"}
    )

    assert_refused(record, "The query parameter foo is not supported")
    assert_refused(update, "The query parameter foo is not supported")
    assert dataverse_sandbox.state.row("contact", contact_id)["lastname"] == "Jones"  # type: ignore[index]


def test_a_function_call_with_parameter_aliases_is_parsed_then_refused_by_name(
    dataverse_api: httpx.Client,
) -> None:
    query = '{"Criteria":{"Conditions":[],"FilterOperator":"And"}}'

    response = dataverse_api.get("RetrieveMetadataChanges(Query=@p1)", params={"@p1": query})

    # Was "Syntax error: '@p1' is not a literal."
    assert_refused(
        response,
        "The function RetrieveMetadataChanges is not simulated by the sandbox (see "
        "sandbox/README.md).",
    )


def test_parameter_aliases_work_in_keys(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    contact_id = dataverse_sandbox.state.insert(
        "contact", {"lastname": "Jones", "emailaddress1": "jones@example.com"}
    )

    found = dataverse_api.get(
        "contacts(emailaddress1=@email)",
        params={"@email": "'jones@example.com'", "$select": "lastname"},
    )
    missing = dataverse_api.get("contacts(emailaddress1=@email)")

    assert found.status_code == 200 and found.json()["contactid"] == contact_id
    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == (
        "The parameter alias '@email' has no value in the query string."
    )


def test_a_delta_link_without_select_has_no_stray_ampersand(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.insert("account", {"name": "Contoso"})

    first = dataverse_api.get("accounts", headers={"Prefer": "odata.track-changes"}).json()
    link = first["@odata.deltaLink"]
    dataverse_sandbox.state.insert("account", {"name": "Fabrikam"})
    delta = dataverse_api.get(link).json()

    assert org(dataverse_sandbox, link, "[Org]").startswith(
        "[Org]/api/data/v9.2/accounts?$deltatoken="
    )
    assert [r["name"] for r in delta["value"]] == ["Fabrikam"]
    assert "?$deltatoken=" in delta["@odata.deltaLink"]


def test_a_write_refuses_read_options_it_would_ignore(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    contact_id = dataverse_sandbox.state.insert("contact", {"lastname": "Jones"})

    response = dataverse_api.patch(
        f"contacts({contact_id})", params={"$filter": "lastname eq 'X'"}, json={"lastname": "B"}
    )

    assert_refused(
        response,
        "The query option $filter on a PATCH request is not simulated by the sandbox (see "
        "sandbox/README.md).",
    )
    assert dataverse_sandbox.state.row("contact", contact_id)["lastname"] == "Jones"  # type: ignore[index]


def test_create_with_return_representation_expands_and_annotates(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    sample_accounts(dataverse_sandbox)

    response = dataverse_api.post(
        "contacts",
        params={"$select": "fullname", "$expand": "parentcustomerid_account($select=name)"},
        json={"lastname": "Jones", "parentcustomerid_account@odata.bind": f"accounts({LITWARE})"},
        headers={"Prefer": f'return=representation,odata.include-annotations="{FORMATTED}"'},
    )

    assert response.status_code == 201
    assert response.headers["preference-applied"] == (
        f'return=representation,odata.include-annotations="{FORMATTED}"'
    )
    body = response.json()
    assert body["parentcustomerid_account"] == {
        "name": "Litware, Inc. (sample)",
        "accountid": LITWARE,
    }
    assert body["fullname"] == "Jones"


@pytest.mark.parametrize(
    ("fetch", "message"),
    [
        (
            "<fetch aggregate='true'><entity name='contact'>"
            "<attribute name='contactid' alias='n' aggregate='count' /></entity></fetch>",
            "The fetch attribute aggregate is not simulated by the sandbox (see "
            "sandbox/README.md).",
        ),
        (
            "<fetch distinct='true'><entity name='contact'><attribute name='lastname' />"
            "</entity></fetch>",
            "The fetch attribute distinct is not simulated by the sandbox (see sandbox/README.md).",
        ),
        (
            "<fetch><entity name='contact'><attribute name='lastname' alias='family' />"
            "</entity></fetch>",
            "The attribute option alias is not simulated by the sandbox (see sandbox/README.md).",
        ),
    ],
)
def test_fetchxml_the_sandbox_would_misanswer_is_refused(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client, fetch: str, message: str
) -> None:
    dataverse_sandbox.state.insert("contact", {"lastname": "Jones"})

    response = dataverse_api.get("contacts", params={"fetchXml": fetch})

    assert_refused(response, message)


def test_options_a_delta_link_or_a_batch_part_cannot_use_are_refused(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.insert("account", {"name": "Contoso"})
    link = dataverse_api.get(
        "accounts", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"}
    ).json()["@odata.deltaLink"]
    boundary = "batch_q"
    part = (
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "GET /api/data/v9.2/accounts?sql=SELECT%20name%20FROM%20account HTTP/1.1\r\n\r\n"
    )
    batch = f"--{boundary}\r\n{part}\r\n--{boundary}--\r\n"

    counted = dataverse_api.get(link + "&$count=true")
    answered = dataverse_api.post(
        "$batch",
        content=batch.encode(),
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
    )

    assert_refused(
        counted,
        "The query option $count on a delta link is not simulated by the sandbox (see "
        "sandbox/README.md).",
    )
    assert answered.status_code == 400
    assert (
        '{"error":{"code":"0x80060888","message":"The query parameter sql is not supported"}}'
        in (answered.text)
    )
