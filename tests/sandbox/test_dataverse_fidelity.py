"""The sandbox reproduces Microsoft's own samples (tests/fixtures/dataverse_samples/).

Each test sets the sandbox up like the documented example, sends the documented request over
raw HTTP and compares the answer with the sample: same keys in the same order, same
annotation names, same values where they are the same data, and for what naturally differs
(ids, ETags, paging cookies, delta tokens, boundaries, the organization URI) the same shape.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.sandboxes import DataverseSandbox

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "dataverse_samples"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ETAG = re.compile(r'^W/"\d+"$')
DELTA_TOKEN = re.compile(r"\$deltatoken=\d+%21\d\d%2f\d\d%2f\d{4}%20\d\d%3a\d\d%3a\d\d$")


@dataclass(frozen=True)
class Sample:
    status_line: str
    headers: list[tuple[str, str]]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def sample(name: str) -> Sample:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    head, _, body = text.partition("\n\n")
    status_line, *header_lines = head.splitlines()
    headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines)]
    return Sample(status_line, headers, body)


def org(sandbox: DataverseSandbox, text: str, placeholder: str) -> str:
    return text.replace(sandbox.url, placeholder)


def guids(text: str) -> str:
    return GUID.sub("<guid>", text)


def assert_headers_present(expected: list[tuple[str, str]], response: httpx.Response) -> None:
    for name, value in expected:
        if name.lower() == "content-length":
            continue
        assert response.headers.get(name) == value, name


# 8a: a page with @odata.nextLink ---------------------------------------------------------------


def test_page_with_next_link_matches_the_documented_page(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("page_with_next_link.http")
    expected = documented.json()
    state = dataverse_sandbox.state
    for record in expected["value"]:
        first, _, last = record["fullname"].partition(" ")
        state.insert(
            "contact", {"contactid": record["contactid"], "firstname": first, "lastname": last}
        )
    state.insert("contact", {"contactid": "d5026a4d-d01c-ed11-b83e-000d3a572421", "lastname": "C"})

    response = dataverse_api.get(
        "contacts", params={"$select": "fullname"}, headers={"Prefer": "odata.maxpagesize=2"}
    )

    assert f"HTTP/1.1 {response.status_code} {response.reason_phrase}" == documented.status_line
    assert_headers_present(documented.headers, response)
    body = response.json()
    assert list(body) == list(expected)
    context = org(dataverse_sandbox, body["@odata.context"], "[Organization URI]")
    assert context == expected["@odata.context"]
    assert len(body["value"]) == len(expected["value"])
    for got, want in zip(body["value"], expected["value"], strict=True):
        assert list(got) == list(want)
        assert ETAG.match(got["@odata.etag"]) and ETAG.match(want["@odata.etag"])
        assert (got["fullname"], got["contactid"]) == (want["fullname"], want["contactid"])
    link = org(dataverse_sandbox, body["@odata.nextLink"], "[Organization URI]")
    # Same URL, same query structure, same cookie encoding; only the GUIDs in it differ.
    assert guids(link) == guids(expected["@odata.nextLink"])
    got_cookie = decode_skiptoken(link)
    want_cookie = decode_skiptoken(expected["@odata.nextLink"])
    assert got_cookie.keys() == want_cookie.keys()
    assert got_cookie["pagenumber"] == want_cookie["pagenumber"] == "2"
    assert got_cookie["page"] == want_cookie["page"] == "1"
    assert got_cookie["last"] == "{70BF4D48-34CB-ED11-B596-0022481D68CD}"  # the page's last row
    assert got_cookie["first"] == want_cookie["first"] == "{49B0BE2E-D01C-ED11-B83E-000D3A572421}"

    # The link works, unchanged, and the last page has none.
    second = dataverse_api.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"})
    assert [r["fullname"] for r in second.json()["value"]] == ["C"]
    assert "@odata.nextLink" not in second.json()


def decode_skiptoken(link: str) -> dict[str, str]:
    query = urllib.parse.urlsplit(link).query
    options = dict(urllib.parse.parse_qsl(query))
    assert list(dict(urllib.parse.parse_qsl(query))) == ["$select", "$skiptoken"]
    outer = ET.fromstring(options["$skiptoken"])
    inner = ET.fromstring(urllib.parse.unquote(outer.attrib["pagingcookie"]))
    (column,) = list(inner)
    return {
        "pagenumber": outer.attrib["pagenumber"],
        "istracking": outer.attrib["istracking"],
        "page": inner.attrib["page"],
        "column": column.tag,
        "last": column.attrib["last"],
        "first": column.attrib["first"],
    }


# 8b: a delta with a deleted row ----------------------------------------------------------------


def test_delta_with_deletions_matches_the_documented_delta(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("delta_with_deletions.http")
    expected = documented.json()
    changed_want, deleted_want = expected["value"]
    state = dataverse_sandbox.state
    state.insert("account", {"accountid": changed_want["accountid"], "name": "Before"})
    state.insert("account", {"accountid": deleted_want["id"], "name": "To be deleted"})
    first = dataverse_api.get(
        "accounts",
        params={"$select": "name,telephone1,fax"},
        headers={"Prefer": "odata.track-changes"},
    )
    assert first.headers["preference-applied"] == "odata.track-changes"
    state.update(
        "account",
        changed_want["accountid"],
        {key: changed_want[key] for key in ("name", "telephone1", "fax")},
    )
    state.delete("account", deleted_want["id"])

    response = dataverse_api.get(first.json()["@odata.deltaLink"])

    assert f"HTTP/1.1 {response.status_code} {response.reason_phrase}" == documented.status_line
    assert_headers_present(documented.headers, response)
    body = response.json()
    assert list(body) == list(expected)
    # The doc's outer context lacks "/api/" and uses v9.0; the rest is the same.
    context = body["@odata.context"]
    assert context.endswith("/$metadata#accounts(name,telephone1,fax)/$delta")
    assert expected["@odata.context"].endswith("/$metadata#accounts(name,telephone1,fax)/$delta")
    link = org(dataverse_sandbox, body["@odata.deltaLink"], "[Organization URI]")
    want_link = expected["@odata.deltaLink"].replace("/v9.0/", "/v9.2/")
    assert DELTA_TOKEN.search(link) and DELTA_TOKEN.search(want_link)
    assert DELTA_TOKEN.sub("", link) == DELTA_TOKEN.sub("", want_link)
    changed, deleted = body["value"]
    assert list(changed) == list(changed_want)
    assert ETAG.match(changed["@odata.etag"])
    assert {k: v for k, v in changed.items() if k != "@odata.etag"} == {
        k: v for k, v in changed_want.items() if k != "@odata.etag"
    }
    deleted["@odata.context"] = org(
        dataverse_sandbox, deleted["@odata.context"], "[Organization URI]"
    )
    assert deleted == {
        **deleted_want,
        "@odata.context": deleted_want["@odata.context"].replace("/v9.0/", "/v9.2/"),
    }


# 8c: a $batch with continue-on-error -----------------------------------------------------------


def documented_batch_request() -> tuple[dict[str, str], bytes]:
    text = (SAMPLES / "batch_continue_on_error.request.http").read_text(encoding="utf-8")
    head, _, body = text.partition("\n\n")
    headers = dict(
        (k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in head.splitlines()[1:])
    )
    return headers, body.replace("\n", "\r\n").encode()


def test_batch_with_continue_on_error_matches_the_documented_answer(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("batch_continue_on_error.http")
    dataverse_sandbox.state.insert(
        "account", {"accountid": "00000000-0000-0000-0000-000000000001", "name": "Contoso"}
    )
    headers, body = documented_batch_request()

    response = dataverse_api.post(
        "$batch",
        content=body,
        headers={"Content-Type": headers["Content-Type"], "Prefer": headers["Prefer"]},
    )

    assert f"HTTP/1.1 {response.status_code} {response.reason_phrase}" == documented.status_line
    assert_headers_present(documented.headers, response)
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    text = org(dataverse_sandbox, response.text, "[Organization Uri]").replace("\r\n", "\n")
    # Line for line the same: status lines, part headers, error body, Location/OData-EntityId;
    # only the GUIDs (boundary, REQ_ID, new task ids) differ.
    assert guids(text).rstrip("\n") == guids(documented.body).rstrip("\n")
    assert len(dataverse_sandbox.state.table("task")) == 2


def test_batch_without_continue_on_error_matches_the_documented_failure(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("batch_stop_on_error.http")
    dataverse_sandbox.state.insert(
        "account", {"accountid": "00000000-0000-0000-0000-000000000001", "name": "Contoso"}
    )
    headers, body = documented_batch_request()

    response = dataverse_api.post(
        "$batch", content=body, headers={"Content-Type": headers["Content-Type"]}
    )

    # The doc prints "400 BadRequest"; HTTP servers here print the standard reason phrase.
    assert response.status_code == int(documented.status_line.split()[1]) == 400
    assert_headers_present(documented.headers, response)
    text = response.text.replace("\r\n", "\n")
    assert guids(text).rstrip("\n") == guids(documented.body).rstrip("\n")
    assert len(dataverse_sandbox.state.table("task")) == 0


# FetchXML paging cookie ------------------------------------------------------------------------


def test_fetchxml_page_carries_the_documented_paging_annotations(
    dataverse_sandbox: DataverseSandbox, dataverse_api: httpx.Client
) -> None:
    documented = sample("fetchxml_page_with_cookie.http")
    expected = json.loads(documented.body)
    state = dataverse_sandbox.state
    people = [
        ("49b0be2e-d01c-ed11-b83e-000d3a572421", "Yvonne", "McKay (sample)", "Coffee Master"),
        (
            "86bf4d48-34cb-ed11-b596-0022481d68cd",
            "Thomas",
            "Andersen (sample)",
            "Purchasing Manager",
        ),
        (
            "70bf4d48-34cb-ed11-b596-0022481d68cd",
            "Susanna",
            "Stubberod (sample)",
            "Purchasing Manager",
        ),
        ("84bf4d48-34cb-ed11-b596-0022481d68cd", "Susan", "Burk (sample)", "Owner"),
    ]
    for contact_id, first, last, job in people:
        state.insert(
            "contact",
            {"contactid": contact_id, "firstname": first, "lastname": last, "jobtitle": job},
        )
    fetch = (
        "<fetch count='3' page='1'><entity name='contact'><attribute name='fullname' />"
        "<attribute name='jobtitle' /><attribute name='annualincome' />"
        "<order descending='true' attribute='fullname' /></entity></fetch>"
    )
    prefer = dict(documented.headers)["Preference-Applied"]

    response = dataverse_api.get("contacts", params={"fetchXml": fetch}, headers={"Prefer": prefer})

    assert_headers_present(documented.headers, response)
    body = response.json()
    assert list(body) == list(expected)
    assert body["@Microsoft.Dynamics.CRM.morerecords"] is True
    assert [r["fullname"] for r in body["value"]] == [r["fullname"] for r in expected["value"]]
    # Columns without a value are left out, as in the sample (only Yvonne has an income).
    assert ["annualincome" in r for r in body["value"]] == [False, False, False]
    assert ["annualincome" in r for r in expected["value"]] == [True, False, False]
    got = ET.fromstring(body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"])
    want = ET.fromstring(expected["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"])
    assert got.attrib.keys() == want.attrib.keys()
    assert (got.attrib["pagenumber"], got.attrib["istracking"]) == ("2", "False")
    # `pagingcookie` is URL-encoded twice, lower-case hex inside; decoded, the same XML.
    got_inner = urllib.parse.unquote(urllib.parse.unquote(got.attrib["pagingcookie"]))
    want_inner = urllib.parse.unquote(urllib.parse.unquote(want.attrib["pagingcookie"]))
    assert got_inner == want_inner
    assert guids(got.attrib["pagingcookie"]) == guids(want.attrib["pagingcookie"])
