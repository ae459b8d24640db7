"""Email accounts: one connected platform account each, with the seed's admin settings."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Platform(StrEnum):
    DOTDIGITAL = "Dotdigital"
    ADOBE_CAMPAIGN = "AdobeCampaign"


class CampaignSyncLevel(StrEnum):
    SUMMARY = "Summary"
    DETAILED = "Detailed"


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
