"""The Dataverse sandbox's tables over raw HTTP (no product client): seeding, paging rules,
conditional writes, change-tracking rules, `$batch` rules, service protection, faults."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sandbox.dataverse import (
    BATCH_TEMPLATE,
    COLLECTION_TEMPLATE,
    RECORD_TEMPLATE,
    DataverseState,
    ListSpec,
)
from tests.fixtures.sandboxes import DataverseSandbox


def batch_body(boundary: str, parts: list[str]) -> bytes:
    text = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return text.encode()


def http_part(
    request_line: str, body: dict[str, object] | None = None, content_id: str = ""
) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    payload = json.dumps(body) if body is not None else ""
    content_type = "Content-Type: application/json\r\n" if body is not None else ""
    return f"{head}\r\n{request_line}\r\n{content_type}\r\n{payload}"


# Seeding ----------------------------------------------------------------------------------------


def test_seeding_is_deterministic_and_realistic() -> None:
    specs = [("Newsletter", "contact", 50), ListSpec("Seattle", "contact", dynamic=True)]

    def fixed() -> float:  # both states seed at the same instant, whatever the wall clock
        return 1_790_000_000.0

    first, second = DataverseState(seed=7, clock=fixed), DataverseState(seed=7, clock=fixed)
    a = first.seed_data(contacts=300, leads=200, accounts=20, lists=specs)
    b = second.seed_data(contacts=300, leads=200, accounts=20, lists=specs)
    assert (a.contacts, a.leads, a.accounts, a.lists) == (b.contacts, b.leads, b.accounts, b.lists)
    assert first.row("contact", a.contacts[0]) == second.row("contact", b.contacts[0])
    assert DataverseState(seed=8).seed_data(contacts=1).contacts != a.contacts[:1]

    contacts = [first.row("contact", i) for i in a.contacts]
    emails = [c["emailaddress1"] for c in contacts if c]
    assert len(set(emails)) == 300 and all(e.isascii() and "@" in e for e in emails)
    assert all(c and c["fullname"] == f"{c['firstname']} {c['lastname']}" for c in contacts)
    leads = [first.row("lead", i) for i in a.leads]
    states = {(lead["statecode"], lead["statuscode"]) for lead in leads if lead}
    disqualified = [s for s in states if s[0] == 2]
    assert disqualified and all(s[1] in (4, 5, 6, 7) for s in disqualified)
    assert sum(1 for lead in leads if lead and lead["statecode"] == 2) in range(20, 70)
    newsletter = first.row("list", a.lists["Newsletter"])
    assert newsletter and newsletter["membercount"] == 50 and newsletter["createdfromcode"] == 2
    assert len(first.list_members(a.lists["Newsletter"])) == 50
    seattle = first.row("list", a.lists["Seattle"])
    assert seattle and seattle["type"] is True and "<fetch" in seattle["query"]


def test_a_hundred_thousand_contacts_seed_in_seconds() -> None:
    state = DataverseState()
    started = time.perf_counter()
    seeded = state.seed_data(contacts=100_000)
    elapsed = time.perf_counter() - started

    assert len(seeded.contacts) == len(state.table("contact")) == 100_000
    assert elapsed < 10.0, f"seeding took {elapsed:.1f} s"


# Reads ------------------------------------------------------------------------------------------


def test_page_size_over_the_maximum_is_ignored(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.seed_data(accounts=5_001)

    response = dataverse_api.get(
        "accounts", params={"$select": "name"}, headers={"Prefer": "odata.maxpagesize=9000"}
    )

    assert "preference-applied" not in response.headers
    assert len(response.json()["value"]) == 5_000
    assert "@odata.nextLink" in response.json()


def test_change_tracking_refuses_filter_and_pages_with_a_tracking_cookie(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    dataverse_sandbox.state.seed_data(contacts=3)
    refused = dataverse_api.get(
        "contacts",
        params={"$select": "fullname", "$filter": "statecode eq 0"},
        headers={"Prefer": "odata.track-changes"},
    )
    paged = dataverse_api.get(
        "contacts",
        params={"$select": "fullname"},
        headers={"Prefer": "odata.track-changes,odata.maxpagesize=2"},
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        'The "$filter" query parameter isn\'t supported when Change Tracking is enabled.'
    )
    assert paged.headers["preference-applied"] == "odata.track-changes,odata.maxpagesize=2"
    assert "istracking=%22True%22" in paged.json()["@odata.nextLink"]
    last = dataverse_api.get(
        paged.json()["@odata.nextLink"],
        headers={"Prefer": "odata.track-changes,odata.maxpagesize=2"},
    )
    assert "@odata.deltaLink" in last.json()


def test_fetchxml_names_a_lookup_by_its_logical_name_and_answers_it_as_x_value(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    state = dataverse_sandbox.state
    account = state.insert("account", {"name": "Fabrikam"})
    contact = state.insert(
        "contact",
        {"lastname": "Reyes", "parentcustomerid_account@odata.bind": f"/accounts({account})"},
    )

    def fetch(attribute: str) -> httpx.Response:
        xml = (
            f"<fetch><entity name='contact'><attribute name='{attribute}' />"
            "<attribute name='lastname' /></entity></fetch>"
        )
        return dataverse_api.get("contacts", params={"fetchXml": xml})

    refused = fetch("_parentcustomerid_value")
    answered = fetch("parentcustomerid")

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "0x80041103"
    assert "'_parentcustomerid_value'" in refused.json()["error"]["message"]
    assert answered.status_code == 200
    [row] = answered.json()["value"]
    assert (row["contactid"], row["_parentcustomerid_value"]) == (contact, account)
    assert "parentcustomerid" not in row


def test_expired_delta_token_body(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    first = dataverse_api.get(
        "contacts", params={"$select": "fullname"}, headers={"Prefer": "odata.track-changes"}
    )
    dataverse_sandbox.state.expire_change_tokens()

    response = dataverse_api.get(first.json()["@odata.deltaLink"])

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "0x80044352",
            "message": "Version stamp associated with the client has expired. Please perform a "
            "full sync.",
        }
    }


def test_conditional_get_and_alternate_key_read(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    contact = dataverse_sandbox.state.insert(
        "contact", {"lastname": "K", "emailaddress1": "k@x.org"}
    )
    by_key = dataverse_api.get("contacts(emailaddress1='K@X.org')", params={"$select": "lastname"})
    etag = by_key.json()["@odata.etag"]

    unchanged = dataverse_api.get(f"contacts({contact})", headers={"If-None-Match": etag})
    unknown_key = dataverse_api.get("contacts(lastname='K')")

    assert by_key.json()["contactid"] == contact
    assert unchanged.status_code == 304
    assert unknown_key.status_code == 400
    assert (
        "The key in the request URI is not valid for resource"
        in unknown_key.json()["error"]["message"]
    )


# Writes -----------------------------------------------------------------------------------------


def test_create_answers(dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client) -> None:
    plain = dataverse_api.post("contacts", json={"lastname": "Plain"})
    shown = dataverse_api.post(
        "contacts?$select=lastname",
        json={"lastname": "Shown"},
        headers={"Prefer": "return=representation"},
    )

    assert plain.status_code == 204 and plain.content == b""
    assert plain.headers["odata-entityid"].startswith(
        f"{dataverse_sandbox.url}/api/data/v9.2/contacts("
    )
    assert shown.status_code == 201
    assert shown.headers["preference-applied"] == "return=representation"
    assert "odata-entityid" not in shown.headers
    assert shown.json()["@odata.context"].endswith("/$metadata#contacts(lastname)/$entity")


def test_conditional_writes_use_the_documented_answers(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    missing = "00000000-0000-0000-0000-000000000001"
    update_only = dataverse_api.patch(
        f"accounts({missing})", json={"name": "x"}, headers={"If-Match": "*"}
    )
    account = dataverse_sandbox.state.insert("account", {"name": "Here"})
    create_only = dataverse_api.patch(
        f"accounts({account})", json={"name": "x"}, headers={"If-None-Match": "*"}
    )
    stale = dataverse_api.patch(
        f"accounts({account})", json={"name": "x"}, headers={"If-Match": 'W/"1"'}
    )
    dataverse_sandbox.state.insert("contact", {"lastname": "A", "emailaddress1": "dup@x.org"})
    duplicate = dataverse_api.post("contacts", json={"lastname": "B", "emailaddress1": "DUP@x.org"})

    assert update_only.status_code == 404
    assert update_only.json() == {
        "error": {"code": "", "message": f"account With Id = {missing} Does Not Exist"}
    }
    assert create_only.status_code == 412
    assert (
        create_only.json()["error"]["message"]
        == "A record with matching key values already exists."
    )
    assert stale.status_code == 412
    assert stale.json() == {
        "error": {
            "code": "",
            "message": "The version of the existing record doesn't match the RowVersion "
            "property provided.",
        }
    }
    assert duplicate.status_code == 412
    assert duplicate.json()["error"]["code"] == "0x80060892"


def test_deleting_a_contact_takes_it_off_its_lists(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=5, lists=[("All", "contact", 5)])
    list_id = seeded.lists["All"]

    assert dataverse_api.delete(f"contacts({seeded.contacts[0]})").status_code == 204

    assert seeded.contacts[0] not in state.list_members(list_id)
    assert state.row("list", list_id)["membercount"] == 4  # type: ignore[index]
    members = dataverse_api.get(
        f"lists({list_id})/listcontact_association", params={"$select": "fullname"}
    ).json()["value"]
    assert len(members) == 4


# $batch -----------------------------------------------------------------------------------------


def test_batch_rules(dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client) -> None:
    undeclared = batch_body(
        "batch_A",
        [
            "Content-Type: multipart/mixed; boundary=changeset_B\r\n\r\n"
            + batch_body(
                "changeset_B",
                [
                    http_part(
                        "POST /api/data/v9.2/phonecalls HTTP/1.1",
                        {
                            "phonenumber": "911",
                            "regardingobjectid_account_phonecall@odata.bind": "$1",
                        },
                        content_id="2",
                    ),
                    http_part("POST /api/data/v9.2/accounts HTTP/1.1", {"name": "QQQQ"}, "1"),
                ],
            ).decode()
        ],
    )
    with_get = batch_body(
        "batch_C",
        [
            "Content-Type: multipart/mixed; boundary=changeset_D\r\n\r\n"
            + batch_body(
                "changeset_D", [http_part("GET /api/data/v9.2/accounts HTTP/1.1")]
            ).decode()
        ],
    )
    too_many = batch_body(
        "batch_E", [http_part("GET /api/data/v9.2/accounts?$select=name HTTP/1.1")] * 1001
    )

    answers = [
        dataverse_api.post(
            "$batch",
            content=body,
            headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
        )
        for body, boundary in (
            (undeclared, "batch_A"),
            (with_get, "batch_C"),
            (too_many, "batch_E"),
        )
    ]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert "Content-ID Reference: '$1' does not exist in the batch context." in answers[0].text
    assert "GET requests are not allowed inside a change set." in answers[1].text
    assert "the limit is 1000 per batch" in answers[2].json()["error"]["message"]
    assert len(dataverse_sandbox.state.table("account")) == 0


# Service protection and faults ------------------------------------------------------------------


def test_concurrent_requests_past_the_limit_get_the_documented_429(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    state = dataverse_sandbox.state
    state.concurrency_limit = 2
    state.faults.latency_seconds = 0.1

    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda _: dataverse_api.get("accounts", params={"$select": "name"}), range(6))
        )

    refused = [a for a in answers if a.status_code == 429]
    assert refused and len(refused) + sum(a.status_code == 200 for a in answers) == 6
    assert refused[0].headers["retry-after"] == "1"
    assert refused[0].json()["error"] == {
        "code": "0x80072326",
        "message": "Number of concurrent requests exceeded the limit of 2.",
    }
    assert state.max_in_flight == 2
    assert state.concurrency_rejections == len(refused)


def test_faults_and_counters_cover_the_new_routes(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    state = dataverse_sandbox.state
    contact = state.insert("contact", {"lastname": "F"})
    state.faults.fail_next(503)

    failed = dataverse_api.get("contacts", params={"$select": "fullname"})
    read = dataverse_api.get(f"contacts({contact})", params={"$select": "fullname"})
    batch = dataverse_api.post(
        "$batch",
        content=batch_body(
            "batch_F", [http_part("GET /api/data/v9.2/contacts?$select=fullname HTTP/1.1")]
        ),
        headers={"Content-Type": "multipart/mixed; boundary=batch_F"},
    )

    assert failed.status_code == 503 and set(failed.json()["error"]) == {"code", "message"}
    assert read.status_code == 200 and batch.status_code == 200
    routes = state.counters.by_route()
    assert routes[("GET", COLLECTION_TEMPLATE)] == 1
    assert routes[("GET", RECORD_TEMPLATE)] == 1
    assert routes[("POST", BATCH_TEMPLATE)] == 1


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("Contacts", "Resource not found for the segment 'Contacts'."),
        (
            "contacts(00000000-0000-4000-8000-000000000000)/nosuch",
            "Resource not found for the segment 'nosuch'.",
        ),
    ],
)
def test_unknown_segments_are_404(dataverse_api: httpx.Client, path: str, message: str) -> None:
    dataverse_api.post("contacts", json={"contactid": "00000000-0000-4000-8000-000000000000"})
    response = dataverse_api.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == message


def test_write_validation_messages(dataverse_api: httpx.Client) -> None:
    too_long = dataverse_api.post("tasks", json={"subject": "x" * 201})
    wrong_type = dataverse_api.post("accounts", json={"name": "A", "numberofemployees": "many"})
    no_code = dataverse_api.post("lists", json={"listname": "No type"})

    assert too_long.json()["error"]["code"] == "0x80044331"
    assert "Cannot convert the literal 'many' to the expected type 'Edm.Int32'" in wrong_type.text
    assert no_code.status_code == 400 and "createdfromcode" in no_code.text
    assert json.loads(too_long.content)["error"]["message"].endswith(
        "maximum allowed length of '200'."
    )
