"""`make demo`'s Adobe Campaign account beside the Dotdigital one: provisioned against the ACS
sandbox (connection, contact -> profile with a few fields, account -> `cusCompany`,
bidirectional opt-outs, every egress switch on), a schedule row for every Adobe sync type the
catalogue has, and what the runs did: their audit and Margaret's opt-outs on both sides."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from shared.accounts import AdobeConnection, EmailAccount, Platform
from shared.audit import AuditStatus
from shared.cli import views
from shared.dynamics_schema.adobe_activities import (
    ACS_EMAIL_BOUNCE,
    ACS_EMAIL_CLICK,
    ACS_EMAIL_OPEN,
    ACS_EMAIL_SEND,
)
from shared.pipeline.admin import provision_account, sync_now
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec
from shared.service import adobe_config
from shared.storage.adobe_config_model import (
    CampaignOptOut,
    FieldMapping,
    OptOutMode,
    OptOutPair,
)
from shared.storage.adobe_config_repo import AdobeConfigRepository
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType

if TYPE_CHECKING:  # the sandboxes load only when the demo runs
    from sandbox.adobe.state import AdobeState
    from sandbox.dataverse.state import DataverseState
    from sandbox.launch import Sandboxes

ADOBE_ACCOUNT_ID = "demo-acs"
ACS_SECRET_SETTING = "DEMO_ACS_CLIENT_SECRET"
OPT_OUT_PAIRS = (
    (CampaignOptOut.EMAIL, "donotbulkemail"),
    (CampaignOptOut.PHONE, "donotphone"),
    (CampaignOptOut.POSTAL_MAIL, "donotpostalmail"),
    (CampaignOptOut.FAX, "donotfax"),
)


def adobe_types() -> list[SyncType]:
    """Every sync type the catalogue has for Adobe Campaign accounts, in the product's order."""
    available = set(catalogue().sync_types(Platform.ADOBE_CAMPAIGN))
    return [sync_type for sync_type in SyncType if sync_type in available]


def provision_adobe(rt: Runtime, sandboxes: Sandboxes) -> list[SyncType]:
    """The account, its configuration (when none is stored) and its schedules, every 5 minutes
    from now; a second demo runs the types now, as Sync Now does. Returns the types."""
    from sandbox.adobe import DEMO_ACS_SCOPES

    account = EmailAccount(
        account_id=ADOBE_ACCOUNT_ID,
        name="Demo campaigns (Adobe)",
        description="Provisioned by make demo against the ACS sandbox",
        owner="Marketing operations",
        platform=Platform.ADOBE_CAMPAIGN,
        adobe=AdobeConnection(
            organization=sandboxes.adobe.organization,
            base_url=sandboxes.adobe_base_url,
            ims_url=sandboxes.adobe_url,
            client_id=sandboxes.credentials.acs_client_id,
            client_secret_name=ACS_SECRET_SETTING,
            scopes=DEMO_ACS_SCOPES,
        ),
    )
    types = adobe_types()
    kept = [st for st in types if rt.schedules.row(ADOBE_ACCOUNT_ID, st) is not None]
    every_5 = ScheduleSpec(interval=Interval.MINUTES_5)
    provision_account(rt, account, dict.fromkeys(types, every_5), first_run=rt.clock())
    if rt.repository(AdobeConfigRepository).load(ADOBE_ACCOUNT_ID) is None:
        _configure(rt, sandboxes.adobe)
    for sync_type in kept:
        sync_now(rt, ADOBE_ACCOUNT_ID, sync_type)
    return types


def _configure(rt: Runtime, adobe: AdobeState) -> None:
    """What an administrator would set with `adobe ...` commands (README)."""
    from sandbox.demo_adobe import COMPANY_KEY, COMPANY_RESOURCE

    account = ADOBE_ACCOUNT_ID
    for dynamics_field, campaign_field in (("telephone1", "phone"), ("mobilephone", "mobilePhone")):
        field = FieldMapping(dynamics_field=dynamics_field, campaign_field=campaign_field)
        adobe_config.add_field(rt, account, "contact", field)
    company = adobe_config.NewTable(
        dynamics_table="account", campaign_resource=COMPANY_RESOURCE, campaign_key=COMPANY_KEY
    )
    adobe_config.add_table(rt, account, company)
    for dynamics_field, campaign_field in (("name", "name"), ("address1_city", "city")):
        field = FieldMapping(dynamics_field=dynamics_field, campaign_field=campaign_field)
        adobe_config.add_field(rt, account, "account", field)
    pairs = [OptOutPair(campaign_attribute=a, dynamics_field=f) for a, f in OPT_OUT_PAIRS]
    opt_out = adobe_config.OptOutChange(mode=OptOutMode.BIDIRECTIONAL, pairs=pairs)
    adobe_config.set_opt_out(rt, account, opt_out)
    every_event = adobe_config.EgressChange(
        send=True, open=True, click=True, bounce=True, click_task=True, bounce_task=True,
        journal_url=adobe.journal_url(), ims_org_id=adobe.ims_org_id,
    )  # fmt: skip
    adobe_config.set_egress(rt, account, every_event)


def adobe_finished(rt: Runtime, since: datetime, types: list[SyncType]) -> bool:
    for sync_type in types:
        runs = rt.audit.recent(ADOBE_ACCOUNT_ID, sync_type=sync_type, since=since, limit=1)
        if not runs or runs[0].status is AuditStatus.IN_PROGRESS:
            return False
    return True


def show_adobe(
    console: Console,
    rt: Runtime,
    sides: tuple[DataverseState, AdobeState],
    *,
    since: datetime,
    contact_id: str,
) -> None:
    """The Adobe account's runs, then Margaret's opt-outs as each side now holds them."""
    dataverse, adobe = sides
    runs = rt.audit.recent(ADOBE_ACCOUNT_ID, since=since)
    console.print(views.audit_table(runs, f"Sync audit: {ADOBE_ACCOUNT_ID} (Adobe Campaign)"))
    contact = dataverse.row("contact", contact_id) or {}
    profile = next((p for p in adobe.profiles() if p.get("externalId") == contact_id), {})
    table = Table(title=f"Opt-outs of {contact.get('emailaddress1', contact_id)} (Bidirectional)")
    for column in ("Campaign attribute", "Campaign", "Dynamics field", "Dynamics"):
        table.add_column(column)
    for attribute, field in OPT_OUT_PAIRS:
        table.add_row(
            attribute.value,
            "opted out" if profile.get(attribute.value) else "-",
            field,
            "Do Not Allow" if contact.get(field) else "Allow",
        )
    console.print(table)
    console.print(_timeline(dataverse, contact_id))
    console.print(
        "Margaret unsubscribed from email in Campaign and asked for no post in Dynamics: the "
        "OptOut run carried each to the other side; EventEgress put Campaign's email events "
        "about her on her timeline. In another terminal while the demo runs: "
        f".venv/bin/python -m shared audit {ADOBE_ACCOUNT_ID} --details",
        soft_wrap=True,
    )


def _timeline(dataverse: DataverseState, contact_id: str) -> Table:
    """Her Adobe Campaign activities (and the follow-up task) as her timeline lists them."""
    table = Table(title="Her timeline: Adobe Campaign activities")
    for column in ("Activity", "Subject"):
        table.add_column(column)
    for definition in (ACS_EMAIL_SEND, ACS_EMAIL_OPEN, ACS_EMAIL_CLICK, ACS_EMAIL_BOUNCE, None):
        name = definition.logical_name if definition else "task"
        shown = definition.display_name if definition else "Task"
        rows = [dataverse.row(name, row_id) or {} for row_id in list(dataverse.table(name).rows)]
        for row in rows:
            if row.get("_regardingobjectid_value") == contact_id:
                table.add_row(shown, str(row.get("subject") or ""))
    return table
