"""The ACS sandbox's answers against the documented shapes (the reference's samples): IMS
tokens, collections, PATCH's {PKey, href}, counts, the gateway's JSON errors and the
engine's text errors, the profile's fields (blackList* emitted, denyList* taken on write)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from sandbox.adobe import wire_time
from tests.fixtures.sandboxes import AdobeSandbox

# The profile fields the reference lists as seen live (its "Profile fields seen live").
DOCUMENTED_PROFILE_FIELDS = {
    "PKey", "age", "birthDate", "blackList", "blackListAllLastModified",
    "blackListLastModified", "blackListEmail", "blackListEmailLastModified", "blackListFax",
    "blackListFaxLastModified", "blackListMobile", "blackListMobileLastModified",
    "blackListPhone", "blackListPhoneLastModified", "blackListPostalMail",
    "blackListPostalMailLastModified", "blackListPushnotification", "ccpaOptOut",
    "ccpaOptOutLastModified", "created", "cryptedId", "domain", "email", "emailFormat",
    "externalId", "fax", "firstName", "gender", "href", "isExternal", "lastModified",
    "lastName", "location", "middleName", "mobilePhone", "phone", "postalAddress",
    "preferredLanguage", "salutation", "subscriptions", "thumbnail", "timeZone", "title",
}  # fmt: skip


@pytest.fixture
def acs(adobe_sandbox: AdobeSandbox, sandbox_ssl_context: ssl.SSLContext) -> Iterator[httpx.Client]:
    """Raw HTTP to the organization's API root with a token and the API key."""
    with httpx.Client(verify=sandbox_ssl_context, timeout=5) as client:
        token = client.post(
            f"{adobe_sandbox.ims_url}/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": adobe_sandbox.client_id,
                "client_secret": adobe_sandbox.client_secret.get_secret_value(),
                "scope": adobe_sandbox.scopes,
            },
        )
        assert token.status_code == 200
        body = token.json()
        assert set(body) == {"access_token", "token_type", "expires_in"}
        assert (body["token_type"], body["expires_in"]) == ("bearer", 86399)
        client.base_url = httpx.URL(adobe_sandbox.base_url + "/")
        client.headers.update(
            {"Authorization": f"Bearer {body['access_token']}",
             "X-Api-Key": adobe_sandbox.client_id, "Content-Type": "application/json"}
        )  # fmt: skip
        yield client


def test_a_profile_has_the_documented_fields_with_empty_dates_as_empty_strings(
    acs: httpx.Client,
) -> None:
    created = acs.post("profileAndServicesExt/profile", json={"email": "a@example.invalid"})
    assert created.status_code in (200, 201)
    profile = created.json()
    assert set(profile) >= DOCUMENTED_PROFILE_FIELDS
    assert not [name for name in profile if name.startswith("denyList")]
    assert profile["birthDate"] == "" and profile["blackListEmailLastModified"] == ""
    assert profile["PKey"].startswith("@") and profile["href"].endswith(profile["PKey"])
    assert profile["subscriptions"]["href"] == profile["href"] + "/subscriptions/"


def test_a_collection_pages_with_an_opaque_line_start_and_counts(
    acs: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.seed_profiles(30)
    first = acs.get("profileAndServices/profile").json()
    assert set(first) == {"content", "next", "count"}
    assert len(first["content"]) == 25  # the default line count
    assert "_lineStart=%40" in first["next"]["href"]
    assert acs.get(first["count"]["href"]).json() == {"count": 30}
    last = acs.get(first["next"]["href"]).json()
    assert len(last["content"]) == 5 and "next" not in last
    none = acs.get("profileAndServices/profile/byEmail", params={"email": "x@example.invalid"})
    assert none.json()["content"] == []


def test_patch_answers_only_pkey_and_href_and_takes_deny_list_aliases(
    acs: httpx.Client,
) -> None:
    href = acs.post("profileAndServicesExt/profile", json={"email": "a@example.invalid"}).json()[
        "href"
    ]
    patched = acs.patch(href, json={"denyListPhone": True, "phone": "3301020304"})
    assert patched.status_code == 200
    assert set(patched.json()) == {"PKey", "href"}
    after = acs.get(href).json()
    assert after["blackListPhone"] is True and after["blackListPhoneLastModified"]
    assert after["blackListEmail"] is False and after["blackListEmailLastModified"] == ""


def test_errors_come_as_the_gateway_json_or_the_engine_text(
    acs: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    unauthorised = acs.get("profileAndServices/profile", headers={"Authorization": "Bearer x"})
    assert unauthorised.status_code == 401
    assert unauthorised.json() == {"error_code": "401013", "message": "Oauth token is not valid"}
    acs.post("profileAndServicesExt/profile", json={"externalId": "c-1"})
    duplicate = acs.post("profileAndServicesExt/profile", json={"externalId": "c-1"})
    assert duplicate.status_code == 500 and duplicate.text.startswith("PGS-220000")
    assert "duplicate key" in duplicate.text
    enum = acs.post("profileAndServicesExt/profile", json={"gender": "x"})
    assert enum.status_code == 500
    assert "not valid for the 'nms:recipient:gender' enumeration" in enum.text
    missing = acs.get("profileAndServicesExt/profile/no-such-key")
    assert missing.status_code == 404 and missing.text.startswith("RST-360011")
    adobe_sandbox.state.throttle_next(1, retry_after=3)
    throttled = acs.get("profileAndServices/profile")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "3"
    assert throttled.json() == {"error_code": "429050", "message": "Too many requests"}


def test_a_signal_locked_out_answers_text_not_json(
    acs: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.add_workflow("WKF1", signals={"signal1": ()})
    trigger = acs.get("workflow/execution/WKF1").json()["activities"]["activity"]["signal1"]
    href = trigger["trigger"]["href"]
    assert acs.post(href, json={"source": "api", "parameters": {}}).status_code == 200
    locked = acs.post(href, json={"source": "api", "parameters": {}})
    assert locked.status_code >= 400
    with pytest.raises(ValueError):
        locked.json()


def test_the_opt_out_custom_filter_selects_profiles_changed_or_created_since_a_date(
    acs: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    clock = adobe_sandbox.state.clock
    old = acs.post("profileAndServicesExt/profile", json={"externalId": "old"}).json()["href"]
    acs.patch(old, json={"blackListEmail": True})
    since = clock()
    adobe_sandbox.state.clock = lambda: since + 60  # a minute later
    quiet = acs.post("profileAndServicesExt/profile", json={"externalId": "quiet"}).json()
    changed = acs.post("profileAndServicesExt/profile", json={"externalId": "x"}).json()["href"]
    adobe_sandbox.state.clock = lambda: since + 120
    acs.patch(changed, json={"ccpaOptOut": True})
    acs.patch(quiet["href"], json={"firstName": "Quiet"})  # not an opt-out: still selected (new)

    def selected(when: str) -> list[str]:
        page = acs.get("profileAndServicesExt/profile/byOptOutChanged", params={"since": when})
        assert page.status_code == 200, page.text
        return [p["externalId"] for p in page.json()["content"]]

    assert selected(wire_time(since + 30)) == ["quiet", "x"]
    assert selected(wire_time(since + 90)) == ["x"]  # its ccpaOptOutLastModified
    assert selected(wire_time(since - 30)) == ["old", "quiet", "x"]
    bad = acs.get("profileAndServicesExt/profile/byOptOutChanged", params={"since": "soon"})
    assert bad.status_code == 500 and bad.text.startswith("RST-360011")


def test_resource_metadata_and_the_resource_list_have_the_documented_shapes(
    acs: httpx.Client, adobe_sandbox: AdobeSandbox
) -> None:
    """metadata-mechanism.md: `content` keyed by field, each with apiName, type, resType (and
    resTarget for links); custom-resources.md: the listing's entries and their metadata href."""
    described = acs.get("profileAndServicesExt/resourceType/profile").json()
    assert described["name"] == "profile" and described["data"] == "/profileAndServicesExt/profile/"
    assert described["href"].endswith("/profileAndServicesExt/profile/metadata")
    assert set(described["content"]) >= DOCUMENTED_PROFILE_FIELDS - {
        "PKey",
        "href",
        "subscriptions",
    }
    email = described["content"]["email"]
    assert (email["apiName"], email["type"], email["resType"]) == ("email", "string", "string")
    adobe_sandbox.state.add_custom_resource("cusProduct", {"crmId": "", "profile": {}})
    listed = acs.get("profileAndServicesExt/").json()
    assert listed["apiName"] == "resourceType"
    product = listed["cusProduct"]
    assert (product["name"], product["type"]) == ("cusProduct", "collection")
    assert product["data"] == "/profileAndServicesExt/cusProduct/"
    by_href = acs.get(product["href"]).json()  # the listing's href reads the same metadata
    assert by_href["content"]["profile"]["type"] == "link"
    assert by_href == acs.get("profileAndServicesExt/resourceType/cusProduct").json()
    missing = acs.get("profileAndServicesExt/resourceType/cusNothing")
    assert missing.status_code == 404 and "RST-360011" in missing.text
