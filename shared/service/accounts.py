"""Email accounts: list, show, add, edit, disable and enable, and Test Connection."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.accounts import AdobeConnection, CampaignSyncLevel, EmailAccount, Platform
from shared.clients.dotdigital.client import DotdigitalClient
from shared.errors import ConfigurationError, ConflictError, SyncError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.secrets import resolve_secret


class AccountExists(ConflictError):
    pass


class AccountChanges(BaseModel):
    """What an admin may edit on an account; fields left out keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    owner: str | None = None
    is_default: bool | None = None
    update_do_not_bulk_email: bool | None = None
    add_global_unsubscribers_to_crm_suppression_list: bool | None = None
    sync_only_open_leads_and_active_contacts: bool | None = None
    campaign_sync_level: CampaignSyncLevel | None = None
    api_user: str | None = None
    api_password_secret_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]*$")
    adobe: AdobeConnection | None = None  # replaces the Adobe connection whole


class ConnectionTest(BaseModel):
    """Test Connection's answer: the platform's own words either way."""

    account_id: str
    platform: Platform
    success: bool
    message: str


def list_accounts(rt: Runtime) -> list[EmailAccount]:
    return sorted(rt.accounts.all(), key=lambda a: a.account_id)


def get_account(rt: Runtime, account_id: str) -> EmailAccount:
    return admin.require_account(rt, account_id)


def add_account(rt: Runtime, account: EmailAccount) -> EmailAccount:
    """Save a new account with its default mappings and every schedule (Manual until set)."""
    if rt.accounts.get(account.account_id) is not None:
        raise AccountExists(
            f"An email account '{account.account_id}' already exists: change it with "
            f"`accounts edit {account.account_id} ...`."
        )
    admin.provision_account(rt, account)
    return account


def edit_account(rt: Runtime, account_id: str, changes: AccountChanges) -> EmailAccount:
    account = admin.require_account(rt, account_id)
    # Field by field, so a nested model (the Adobe connection) stays a model, not a dict.
    edited = account.model_copy(update={k: v for k, v in changes if v is not None})
    edited = EmailAccount.model_validate(edited.model_dump())  # the account's own rules
    rt.accounts.save(edited)
    return edited


def set_enabled(rt: Runtime, account_id: str, *, enabled: bool) -> EmailAccount:
    """A disabled account keeps its schedules; nothing runs for it until it is enabled."""
    account = admin.require_account(rt, account_id)
    edited = account.model_copy(update={"disabled": not enabled})
    rt.accounts.save(edited)
    return edited


def _sign_in_adobe(rt: Runtime, account: EmailAccount) -> str:
    """An IMS token for the stored credential, then the cheapest read (one profile)."""
    client = rt.adobe_client(account, cached=False)
    checked = client.check_connection()
    return f"Connected to Adobe Campaign at {client.base_url}: {checked}."


def _sign_in(rt: Runtime, account: EmailAccount) -> str:
    """Sign in with the stored user and password setting (a fresh client, never a cached one:
    the test is of what is stored now) and describe the platform account found."""
    if account.platform is Platform.ADOBE_CAMPAIGN:
        return _sign_in_adobe(rt, account)
    if account.platform is not Platform.DOTDIGITAL:
        raise ConfigurationError(
            f"Test Connection is not available for {account.platform.value} accounts in this "
            "version of the connector"
        )
    password = resolve_secret(
        account.api_password_secret_name, rt.settings, owner=f"email account '{account.name}'"
    )
    client = DotdigitalClient.connect(
        rt.settings.dotdigital_discovery_url,
        account.api_user,
        password,
        http=rt.http,
        retry=rt.retry,
    )
    info = client.account_properties
    name = info.get("Name") or "the account"
    return (
        f"Connected to Dotdigital as {account.api_user}: {name}, "
        f"API endpoint {info.get('ApiEndpoint', '?')}."
    )


def test_connection(rt: Runtime, account_id: str) -> ConnectionTest:
    """Sign in to the platform's API and read the account's details; a failure reports the
    platform's own message (or what is missing in the settings)."""
    account = admin.require_account(rt, account_id)
    try:
        message = _sign_in(rt, account)
    except SyncError as error:
        return ConnectionTest(
            account_id=account_id, platform=account.platform, success=False, message=str(error)
        )
    return ConnectionTest(
        account_id=account_id, platform=account.platform, success=True, message=message
    )
