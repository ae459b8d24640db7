"""Adobe Campaign accounts: the connection settings' rules, their Table Storage columns (the
client secret's setting NAME only), and the runtime building the account's ACS client."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.accounts import AdobeConnection, EmailAccount, Platform
from shared.clients.adobe import AdobeCampaignClient
from shared.errors import ConfigurationError
from shared.runtime import Runtime
from tests.fixtures.sync_runtime import ACS_SECRET_SETTING

CONNECTION = {
    "organization": "acmeorg",
    "client_id": "f00dfeedcafe",
    "client_secret_name": "ACME_ACS_SECRET",
    "scopes": "openid,AdobeID,campaign_sdk",
}


def test_the_base_url_defaults_to_the_organizations_and_must_match_it() -> None:
    connection = AdobeConnection(**CONNECTION)
    assert connection.base_url == "https://mc.adobe.io/acmeorg/campaign"
    assert connection.ims_url == "https://ims-na1.adobelogin.com"
    stage = AdobeConnection(**{**CONNECTION, "organization": "acmeorg-mkt-stage"})
    assert stage.base_url == "https://mc.adobe.io/acmeorg-mkt-stage/campaign"
    with pytest.raises(ValidationError, match="not the organization's"):
        AdobeConnection(**CONNECTION, base_url="https://mc.adobe.io/otherorg/campaign")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"base_url": "http://mc.adobe.io/acmeorg/campaign"}, "https URL"),
        ({"ims_url": "http://ims-na1.adobelogin.com"}, "https URL"),
        ({"ims_url": "https://ims-na1.adobelogin.com/ims/token/v3"}, "is a host"),
        ({"base_url": "https://user:pw@mc.adobe.io/acmeorg/campaign"}, "must not carry"),
        ({"client_secret_name": "not a name!"}, "client_secret_name"),
        ({"scopes": "openid, AdobeID"}, "scopes"),
        ({"client_id": ""}, "client_id"),
    ],
)
def test_connection_settings_that_cannot_work_are_refused(
    change: dict[str, str], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        AdobeConnection(**{**CONNECTION, **change})


def test_an_adobe_account_needs_its_connection_and_only_it_has_one() -> None:
    with pytest.raises(ValidationError, match="needs its connection"):
        EmailAccount(account_id="a", name="A", platform=Platform.ADOBE_CAMPAIGN)
    with pytest.raises(ValidationError, match="has no Adobe connection"):
        EmailAccount(account_id="a", name="A", adobe=AdobeConnection(**CONNECTION))


def test_an_adobe_account_round_trips_holding_the_secrets_name_only(runtime: Runtime) -> None:
    account = EmailAccount(
        account_id="acs1",
        name="ACS",
        platform=Platform.ADOBE_CAMPAIGN,
        adobe=AdobeConnection(**CONNECTION),
    )
    runtime.accounts.save(account)
    assert runtime.accounts.get("acs1") == account
    row = runtime.tables.client("EmailAccounts").get_entity("acs1", "Account")
    assert row["AdobeClientSecretName"] == "ACME_ACS_SECRET"
    assert row["AdobeBaseUrl"] == "https://mc.adobe.io/acmeorg/campaign"
    assert not any("secret" in k.lower() and not k.endswith("Name") for k in row)
    runtime.accounts.save(EmailAccount(account_id="dd1", name="DD"))
    dotdigital_row = runtime.tables.client("EmailAccounts").get_entity("dd1", "Account")
    assert not [k for k in dotdigital_row if k.startswith("Adobe")]


def test_the_runtime_builds_the_accounts_acs_client_and_keeps_it(
    sync_runtime: Runtime, globex: EmailAccount
) -> None:
    client = sync_runtime.platform_client(globex)
    assert isinstance(client, AdobeCampaignClient)
    assert globex.adobe is not None and client.base_url == globex.adobe.base_url
    assert sync_runtime.platform_client(globex) is client
    assert client.read_page("profile").items == []


def test_a_missing_secret_setting_is_named(
    sync_runtime: Runtime, globex: EmailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ACS_SECRET_SETTING)
    with pytest.raises(ConfigurationError, match=ACS_SECRET_SETTING):
        sync_runtime.platform_client(globex)
