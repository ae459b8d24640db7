"""Email accounts: one connected platform account each, with the seed's admin settings and,
for Adobe Campaign, the OAuth server-to-server connection (`AdobeConnection`)."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, model_validator

DEFAULT_IMS_URL = "https://ims-na1.adobelogin.com"
ADOBE_API_HOST = "https://mc.adobe.io"


class Platform(StrEnum):
    DOTDIGITAL = "Dotdigital"
    ADOBE_CAMPAIGN = "AdobeCampaign"


class CampaignSyncLevel(StrEnum):
    SUMMARY = "Summary"
    DETAILED = "Detailed"


def _https_url(value: str, what: str) -> str:
    """`value` without a trailing slash, if it is a plain https URL (no user, query, fragment):
    the client secret and the token only ever travel over https."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{what} must be an https URL, e.g. {ADOBE_API_HOST}/<ORG>/campaign")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{what} must not carry a user, a query or a fragment")
    return value.rstrip("/")


class AdobeConnection(BaseModel):
    """How the connector reaches one ACS organization: an Adobe Developer Console OAuth
    Server-to-Server credential (client id, scopes; the client secret stays in an app setting
    or Key Vault secret, named here, never stored) and the organization's API base URL."""

    organization: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$",
        description="The Campaign instance (tenant) id: <ORG>, or <ORG>-mkt-stage for stage.",
    )
    base_url: str = Field(
        default="", description="The API root; empty: https://mc.adobe.io/<organization>/campaign"
    )
    ims_url: str = Field(default=DEFAULT_IMS_URL, description="The Adobe IMS host.")
    client_id: str = Field(min_length=1, max_length=200, pattern=r"^\S+$")
    client_secret_name: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="NAME of the app setting or Key Vault secret holding the client secret.",
    )
    scopes: str = Field(
        min_length=1,
        pattern=r"^[^\s,]+(,[^\s,]+)*$",
        description="The credential's scopes, comma-separated, as the Developer Console lists.",
    )

    @model_validator(mode="after")
    def _urls(self) -> AdobeConnection:
        base = self.base_url or f"{ADOBE_API_HOST}/{self.organization}/campaign"
        base = _https_url(base, "The base URL")
        if not urlsplit(base).path.endswith(f"/{self.organization}/campaign"):
            raise ValueError(
                f"The base URL {base} is not the organization's: it ends with "
                f"/{self.organization}/campaign"
            )
        ims = _https_url(self.ims_url, "The IMS URL")
        if urlsplit(ims).path not in ("", "/"):
            raise ValueError(f"The IMS URL is a host, e.g. {DEFAULT_IMS_URL}")
        self.base_url, self.ims_url = base, ims
        return self


class EmailAccount(BaseModel):
    account_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    platform: Platform = Platform.DOTDIGITAL
    owner: str = ""
    connector_key: str = ""
    is_default: bool = False
    disabled: bool = False
    update_do_not_bulk_email: bool = True
    add_global_unsubscribers_to_crm_suppression_list: bool = True
    sync_only_open_leads_and_active_contacts: bool = True
    campaign_sync_level: CampaignSyncLevel = CampaignSyncLevel.SUMMARY
    # The platform's API user name, and the NAME of the app setting / Key Vault secret that
    # holds its password. The password itself never lands in a table.
    api_user: str = ""
    api_password_secret_name: str = Field(default="", pattern=r"^[A-Za-z0-9_-]*$")
    # Adobe Campaign accounts only (and required there).
    adobe: AdobeConnection | None = None

    @model_validator(mode="after")
    def _platform_settings(self) -> EmailAccount:
        if self.platform is Platform.ADOBE_CAMPAIGN and self.adobe is None:
            raise ValueError(
                "an Adobe Campaign account needs its connection (organization, client id, "
                "client secret setting, scopes)"
            )
        if self.platform is not Platform.ADOBE_CAMPAIGN and self.adobe is not None:
            raise ValueError(f"a {self.platform.value} account has no Adobe connection")
        return self
