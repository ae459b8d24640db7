"""`accounts list | show | add | edit | disable | enable | test`: the Email Accounts screen and
its Test Connection, over `shared.service.accounts`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shared.accounts import (
    DEFAULT_IMS_URL,
    AdobeConnection,
    CampaignSyncLevel,
    EmailAccount,
    Platform,
)
from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, console, emit, print_json
from shared.errors import HANDLING, BadInputError, Category
from shared.service import accounts

accounts_app = typer.Typer(help="Email accounts.", no_args_is_help=True)
AccountArg = Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")]


def _yes(value: bool) -> str:
    return "Yes" if value else "No"


def _details(account: EmailAccount) -> Table:
    table = views.new_table("Setting", "Value", title=f"Email account {account.account_id}")
    for name, value in (
        ("Name", account.name),
        ("Description", account.description),
        ("Platform", account.platform.value),
        ("Owner", account.owner),
        ("Default account", _yes(account.is_default)),
        ("Status", "Disabled" if account.disabled else "Enabled"),
        ("API user", account.api_user),
        ("API password setting", account.api_password_secret_name),
        ("Update Do not Bulk Email", _yes(account.update_do_not_bulk_email)),
        ("Add global unsubscribers to the CRM suppression list",
         _yes(account.add_global_unsubscribers_to_crm_suppression_list)),
        ("Sync only open leads and active contacts",
         _yes(account.sync_only_open_leads_and_active_contacts)),
        ("Campaign sync level", account.campaign_sync_level.value),
    ):  # fmt: skip
        table.add_row(name, value)
    if account.adobe is not None:
        for name, value in (
            ("Adobe organization", account.adobe.organization),
            ("Adobe base URL", account.adobe.base_url),
            ("Adobe IMS URL", account.adobe.ims_url),
            ("Adobe client id", account.adobe.client_id),
            ("Adobe client secret setting", account.adobe.client_secret_name),
            ("Adobe scopes", account.adobe.scopes),
        ):
            table.add_row(name, value)
    return table


@accounts_app.command("list")
def accounts_list(output: OutputOption = Output.TABLE) -> None:
    """List the connected email accounts."""
    found = accounts.list_accounts(environment.runtime())
    emit(output, found, lambda: views.accounts_table(found))


@accounts_app.command("show")
def accounts_show(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """Show an account's information and admin settings."""
    found = accounts.get_account(environment.runtime(), account)
    emit(output, found, lambda: _details(found))


@accounts_app.command("add")
def accounts_add(
    account: Annotated[str, typer.Argument(help="New account id: letters, digits and dashes.")],
    name: Annotated[str, typer.Option(help="Name shown to users.")],
    api_user: Annotated[str, typer.Option(help="Dotdigital: the API user name.")] = "",
    password_setting: Annotated[str, typer.Option(
        help="Dotdigital: NAME of the app setting or Key Vault secret holding the API user's "
             "password (never the password itself).")] = "",
    description: Annotated[str, typer.Option(help="What the account is for.")] = "",
    owner: Annotated[str, typer.Option(help="Who looks after it.")] = "",
    platform: Annotated[Platform, typer.Option(help="The email platform.")] = Platform.DOTDIGITAL,
    default: Annotated[bool, typer.Option("--default", help="The default account.")] = False,
    organization: Annotated[str, typer.Option(
        help="Adobe Campaign: the instance (tenant) id, <ORG> of mc.adobe.io/<ORG>.")] = "",
    client_id: Annotated[str, typer.Option(
        help="Adobe Campaign: the OAuth Server-to-Server credential's client id.")] = "",
    client_secret_setting: Annotated[str, typer.Option(
        help="Adobe Campaign: NAME of the app setting or Key Vault secret holding the client "
             "secret (never the secret itself).")] = "",
    scopes: Annotated[str, typer.Option(
        help="Adobe Campaign: the credential's scopes, comma-separated.")] = "",
    base_url: Annotated[str, typer.Option(
        help="Adobe Campaign: the API root (default https://mc.adobe.io/<ORG>/campaign).")] = "",
    ims_url: Annotated[str, typer.Option(help="Adobe Campaign: the IMS host.")] = DEFAULT_IMS_URL,
) -> None:  # fmt: skip
    """Add an email account with its default data mappings; its schedules start as Manual.
    Dotdigital takes --api-user and --password-setting; Adobe Campaign (--platform
    AdobeCampaign) takes --organization, --client-id, --client-secret-setting and --scopes."""
    adobe = None
    if platform is Platform.ADOBE_CAMPAIGN:
        missing = [flag for flag, value in (
            ("--organization", organization), ("--client-id", client_id),
            ("--client-secret-setting", client_secret_setting), ("--scopes", scopes),
        ) if not value]  # fmt: skip
        if missing:
            raise BadInputError(f"An Adobe Campaign account needs {', '.join(missing)}")
        adobe = AdobeConnection(
            organization=organization, base_url=base_url, ims_url=ims_url,
            client_id=client_id, client_secret_name=client_secret_setting, scopes=scopes,
        )  # fmt: skip
    elif not api_user or not password_setting:
        raise BadInputError(f"A {platform.value} account needs --api-user and --password-setting")
    new = EmailAccount(
        account_id=account, name=name, description=description, owner=owner,
        platform=platform, is_default=default, api_user=api_user,
        api_password_secret_name=password_setting, adobe=adobe,
    )  # fmt: skip
    accounts.add_account(environment.runtime(), new)
    console().print(
        f"Added email account '{account}'. Check it with `accounts test {account}`, then set "
        f"its schedules with `schedule set {account} ...`."
    )


@accounts_app.command("edit")
def accounts_edit(
    account: AccountArg,
    name: Annotated[str | None, typer.Option(help="Name shown to users.")] = None,
    description: Annotated[str | None, typer.Option(help="What the account is for.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who looks after it.")] = None,
    api_user: Annotated[str | None, typer.Option(help="The platform's API user name.")] = None,
    password_setting: Annotated[str | None, typer.Option(
        help="NAME of the setting holding the API password.")] = None,
    update_do_not_bulk_email: Annotated[bool | None, typer.Option(
        help="Suppressions set Do not Bulk Email in Dynamics.")] = None,
    add_global_unsubscribers: Annotated[bool | None, typer.Option(
        help="Global unsubscribers become CRM suppression records.")] = None,
    only_open_leads_and_active_contacts: Annotated[bool | None, typer.Option(
        help="Sync only open leads and active contacts.")] = None,
    campaign_sync_level: Annotated[CampaignSyncLevel | None, typer.Option(
        help="Summary or Detailed campaign statistics.")] = None,
    client_id: Annotated[str | None, typer.Option(
        help="Adobe Campaign: the credential's client id.")] = None,
    client_secret_setting: Annotated[str | None, typer.Option(
        help="Adobe Campaign: NAME of the setting holding the client secret.")] = None,
    scopes: Annotated[str | None, typer.Option(
        help="Adobe Campaign: the credential's scopes, comma-separated.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Adobe Campaign: the API root.")] = None,
    ims_url: Annotated[str | None, typer.Option(help="Adobe Campaign: the IMS host.")] = None,
) -> None:  # fmt: skip
    """Change an account's name, description or admin settings (others keep their value)."""
    adobe_edits = {key: value for key, value in (
        ("client_id", client_id), ("client_secret_name", client_secret_setting),
        ("scopes", scopes), ("base_url", base_url), ("ims_url", ims_url),
    ) if value is not None}  # fmt: skip
    adobe = None
    if adobe_edits:
        current = accounts.get_account(environment.runtime(), account).adobe
        if current is None:
            flags = [f"--{k.replace('_name', '_setting').replace('_', '-')}" for k in adobe_edits]
            raise BadInputError(
                f"Email account '{account}' is not an Adobe Campaign account: "
                f"{', '.join(flags)} apply to Adobe Campaign accounts only"
            )
        adobe = AdobeConnection.model_validate({**current.model_dump(), **adobe_edits})
    changes = accounts.AccountChanges(adobe=adobe,
        name=name, description=description, owner=owner, api_user=api_user,
        api_password_secret_name=password_setting,
        update_do_not_bulk_email=update_do_not_bulk_email,
        add_global_unsubscribers_to_crm_suppression_list=add_global_unsubscribers,
        sync_only_open_leads_and_active_contacts=only_open_leads_and_active_contacts,
        campaign_sync_level=campaign_sync_level,
    )  # fmt: skip
    console().print(_details(accounts.edit_account(environment.runtime(), account, changes)))


@accounts_app.command("disable")
def accounts_disable(account: AccountArg) -> None:
    """Disable an account: its schedules are kept and nothing runs until it is enabled."""
    accounts.set_enabled(environment.runtime(), account, enabled=False)
    console().print(f"Email account '{account}' is disabled.")


@accounts_app.command("enable")
def accounts_enable(account: AccountArg) -> None:
    """Enable a disabled account: its schedules run again."""
    accounts.set_enabled(environment.runtime(), account, enabled=True)
    console().print(f"Email account '{account}' is enabled.")


@accounts_app.command("test")
def accounts_test(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """Test Connection: sign in to the platform's API with the account's stored credentials."""
    result = accounts.test_connection(environment.runtime(), account)
    if output is Output.JSON:
        print_json(result)
    elif result.success:
        console().print(f"Connection succeeded. {result.message}", style="green")
    else:
        console().print(f"Connection failed: {result.message}", style="red")
    if not result.success:
        raise typer.Exit(code=HANDLING[Category.FATAL].exit_code)
