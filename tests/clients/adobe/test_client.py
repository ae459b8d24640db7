"""The Adobe Campaign client against the ACS sandbox over real HTTP: tokens, headers, paging
and forced pagination, reads by filter and key, writes, and each error shape in its place in
the error tree (what is retried and what never is)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.adobe import COLLECTION, ITEM, TOKEN
from sandbox.clock import ManualClock
from shared.clients.adobe import (
    AdobeCampaignClient,
    DuplicateKey,
    EngineRefusal,
    ForeignHref,
    Profile,
    RecordNotFound,
)
from shared.clients.retry import RetryPolicy
from shared.errors import ApiError, AuthenticationError, Category, OutcomeUnknown
from tests.fixtures.sandboxes import AdobeSandbox


def test_one_token_serves_every_call_until_shortly_before_it_expires(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox, sandbox_clock: ManualClock
) -> None:
    adobe_sandbox.state.seed_profiles(3)
    for _ in range(3):
        adobe_client.read_page("profile", line_count=1)
    assert adobe_sandbox.state.counters.count("POST", TOKEN) == 1
    sandbox_clock.advance(86399 - 300 + 1)  # inside the margin before expiry
    adobe_client.read_page("profile", line_count=1)
    assert adobe_sandbox.state.counters.count("POST", TOKEN) == 2


def test_every_call_carries_the_bearer_token_and_the_api_key(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_client.read_page("profile")
    (call,) = adobe_sandbox.state.counters.calls("GET", COLLECTION)
    assert call.headers["authorization"] == "Bearer <redacted>"
    assert call.headers["x-api-key"] == adobe_sandbox.client_id
    assert "_forcePagination=true" in call.query


def test_a_token_revoked_early_is_fetched_again_once(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_client.read_page("profile")
    adobe_sandbox.state.expire_tokens()
    adobe_client.read_page("profile")
    assert adobe_sandbox.state.counters.count("POST", TOKEN) == 2
    assert adobe_sandbox.state.counters.count("GET", COLLECTION, status=401) == 1


def test_a_refused_credential_is_an_authentication_error_naming_the_client_id(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.client_secret = "rotated"
    with pytest.raises(AuthenticationError) as refused:
        adobe_client.read_page("profile")
    assert adobe_sandbox.client_id in str(refused.value)
    assert "invalid_client" in str(refused.value)
    assert adobe_sandbox.state.counters.count("POST", TOKEN) == 1  # never retried


def test_pages_follow_next_href_and_count_href_counts(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.seed_profiles(60)
    pages = list(adobe_client.pages("profile", line_count=25))
    assert [len(p.items) for p in pages] == [25, 25, 10]
    emails = [item["email"] for page in pages for item in page.items]
    assert len(set(emails)) == 60
    assert pages[0].next_href and "_lineStart=%40" in pages[0].next_href  # opaque position
    assert pages[0].count_href is not None
    assert adobe_client.count(pages[0].count_href) == 60


def test_a_big_table_pages_only_with_forced_pagination(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.big_table_threshold = 50  # XtkBigTableThreshold, 100,000 for real
    adobe_sandbox.state.seed_profiles(60)
    unforced = adobe_client.read_page("profile", line_count=25, force_pagination=False)
    assert unforced.next_href is None and len(unforced.items) == 25  # silently the first page
    assert unforced.server_side_pagination
    assert len(list(adobe_client.records("profile", line_count=25))) == 60


def test_a_run_resumes_from_a_saved_next_href(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.seed_profiles(30)
    first = adobe_client.read_page("profile", line_count=20)
    adobe_sandbox.state.seed_profiles(2, prefix="late")  # arrives between two slices
    rest = list(adobe_client.pages("profile", line_count=20, start=first.next_href))
    seen = [i["email"] for i in first.items] + [i["email"] for p in rest for i in p.items]
    assert len(seen) == len(set(seen)) == 32


def test_a_link_off_the_base_url_is_never_followed(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    for href in (
        "https://attacker.example/sandboxorg/campaign/profileAndServicesExt/profile",
        adobe_sandbox.base_url.replace("https://", "http://") + "/profileAndServicesExt/profile",
        adobe_sandbox.base_url + "x/profileAndServicesExt/profile",
    ):
        with pytest.raises(ForeignHref):
            adobe_client.read_page("profile", start=href)
    assert adobe_sandbox.state.counters.total() == 0


def test_profiles_by_email_and_records_by_custom_key(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.seed_profiles(3)
    (found,) = adobe_client.profiles_by_email("person1@example.invalid")
    assert isinstance(found, Profile) and found.external_id == "person-000001"
    assert found.black_list_email_last_modified is None  # "" on the wire
    assert adobe_client.profiles_by_email("nobody@example.invalid") == []
    by_key = adobe_client.get_by_key("profile", "person-000002")
    assert by_key is not None and by_key["email"] == "person2@example.invalid"
    assert adobe_client.get_by_key("profile", "no-such-id") is None


def test_create_patch_and_delete_by_href(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    created = adobe_client.create(
        "profile", {"email": "ada@example.invalid", "externalId": "c-1", "denyListEmail": True}
    )
    assert created["blackListEmail"] is True  # the UI alias lands in the technical field
    profile = Profile.model_validate(created)
    value, changed = profile.opt_out("denyListEmail")
    assert value is True and changed is not None
    written = adobe_client.update(created["href"], {"firstName": "Ada", "ccpaOptOut": True})
    assert written.href == created["href"] and written.pkey == created["PKey"]
    again = Profile.model_validate(adobe_client.get(written.href))
    assert (again.first_name, again.ccpa_opt_out) == ("Ada", True)
    assert again.ccpa_opt_out_last_modified is not None
    assert adobe_client.delete(written.href) is True
    assert adobe_client.delete(written.href) is False  # gone already: nothing to do
    with pytest.raises(RecordNotFound):
        adobe_client.get(written.href)


def test_custom_resources_live_under_the_extended_root(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.add_custom_resource(
        "cusTransaction", {"crmId": "", "amount": 0}, unique=("crmId",), custom_key="crmId"
    )
    created = adobe_client.create("cusTransaction", {"crmId": "t-1", "amount": 12})
    assert "/profileAndServicesExt/cusTransaction/@" in created["href"]
    (found,) = adobe_client.find("cusTransaction", "byCrmId", {"crmId": "t-1"})
    assert found["amount"] == 12
    with pytest.raises(ValueError, match="cus-prefixed"):
        adobe_client.read_page("transaction")


def test_a_duplicate_key_is_a_conflict_and_is_never_retried(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_client.create("profile", {"email": "a@example.invalid", "externalId": "c-1"})
    with pytest.raises(DuplicateKey) as duplicate:
        adobe_client.create("profile", {"email": "b@example.invalid", "externalId": "c-1"})
    assert duplicate.value.category is Category.CONFLICT
    assert duplicate.value.code == "PGS-220000"
    assert adobe_sandbox.state.counters.count("POST", COLLECTION) == 2


def test_engine_refusals_are_bad_input_and_are_never_retried(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    href = adobe_client.create("profile", {"email": "a@example.invalid"})["href"]
    with pytest.raises(EngineRefusal) as enum:
        adobe_client.update(href, {"gender": "x"})
    assert enum.value.category is Category.BAD_INPUT and "enumeration" in str(enum.value)
    with pytest.raises(EngineRefusal) as unknown:
        adobe_client.update(href, {"shoeSize": 44})
    assert unknown.value.code == "XTK-170036"
    bad_pkey = href.rsplit("/", 1)[0] + "/@not-a-pkey"
    with pytest.raises(EngineRefusal):
        adobe_client.get(bad_pkey)
    assert adobe_sandbox.state.counters.count("PATCH", ITEM) == 2
    assert adobe_sandbox.state.counters.count("GET", ITEM) == 1


def test_a_bare_json_string_404_is_not_found(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    href = adobe_client.create("profile", {"email": "a@example.invalid"})["href"]
    adobe_client.delete(href)
    with pytest.raises(RecordNotFound) as missing:
        adobe_client.update(href, {"firstName": "x"})  # answered "RST-360011 ..." as JSON
    assert missing.value.code == "RST-360011"


def test_429_and_5xx_are_retried_with_the_servers_wait(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox, sandbox_clock: ManualClock
) -> None:
    adobe_sandbox.state.seed_profiles(2)
    adobe_client.read_page("profile")  # the token first
    adobe_sandbox.state.throttle_next(2, retry_after=7)
    assert len(adobe_client.read_page("profile").items) == 2
    assert sandbox_clock.sleeps == [7.0, 7.0]
    adobe_sandbox.state.faults.fail_next(503, 2)
    adobe_sandbox.state.faults.fail_next(500, 1)  # a 500 without an engine code: not a refusal
    assert len(adobe_client.read_page("profile").items) == 2
    assert len(sandbox_clock.sleeps) == 5


def test_a_lost_answer_to_a_create_is_outcome_unknown_and_not_resent(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_client.read_page("profile")
    adobe_sandbox.state.faults.lose_response_next()
    with pytest.raises(OutcomeUnknown):
        adobe_client.create("profile", {"email": "a@example.invalid", "externalId": "c-9"})
    assert [p["externalId"] for p in adobe_sandbox.state.profiles()] == ["c-9"]  # it happened
    assert adobe_sandbox.state.counters.count("POST", COLLECTION) == 1
    adobe_sandbox.state.faults.lose_response_next()
    assert len(adobe_client.read_page("profile").items) == 1  # a read is simply read again


def test_a_wrong_organization_is_said_and_not_retried(
    adobe_sandbox: AdobeSandbox, adobe_http: httpx.Client, retry_policy: RetryPolicy
) -> None:
    client = AdobeCampaignClient.connect(
        adobe_sandbox.base_url.replace("/sandboxorg/", "/otherorg/"),
        adobe_sandbox.ims_url,
        adobe_sandbox.client_id,
        adobe_sandbox.client_secret,
        adobe_sandbox.scopes,
        http=adobe_http,
        retry=retry_policy,
    )
    with pytest.raises(ApiError, match="names an organization"):
        client.read_page("profile")
    assert adobe_sandbox.state.counters.count("GET", COLLECTION) == 1


def test_a_refused_api_key_is_an_authentication_error(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_client.read_page("profile")
    adobe_sandbox.state.client_id = "another-client"  # the token stays valid, the key does not
    with pytest.raises(AuthenticationError, match="Api Key is invalid"):
        adobe_client.read_page("profile")


def test_test_connection_reads_the_profile_root_no_extension_needs(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    assert adobe_client.check_connection().endswith("no profiles yet")
    (call,) = adobe_sandbox.state.counters.calls("GET", COLLECTION)
    assert call.path.endswith("/profileAndServices/profile")


def test_a_token_refused_again_after_a_new_one_is_an_authentication_error(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.token_lifetime = 0  # every token it issues is expired at once
    with pytest.raises(AuthenticationError, match="Oauth token is not valid"):
        adobe_client.read_page("profile")
    assert adobe_sandbox.state.counters.count("GET", COLLECTION, status=401) == 2  # once more
