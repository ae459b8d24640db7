"""The Adobe Campaign email event activities (seed 004 / the reference's egress: "Adobe Campaign
Email Send / Open / URL Click / Bounce"), custom activity tables so each event shows on the
contact's timeline.

Activity tables are user-owned and share activitypointer's columns: `activityid` is the
primary key, `subject` the primary name (Campaign ID + Delivery ID), `regardingobjectid` the
contact (bound as `regardingobjectid_contact_<table>`); Dataverse adds those when it creates
the table, so only the connector's own columns are listed here. `dms_eventid` is Campaign's
event id: the row's id derives from it (uuid5 of the account and the event id), so an event
read twice is written once.
"""

from __future__ import annotations

from shared.dynamics_schema.model import ColumnDef, Kind, TableDefinition

SUBJECT = ColumnDef(
    "subject", Kind.STRING, "Subject", "Campaign ID and Delivery ID.", max_length=200
)
CAMPAIGN_NAME = ColumnDef(
    "dms_campaignname", Kind.STRING, "Campaign Name", "The Campaign ID.", max_length=200
)
DELIVERY_NAME = ColumnDef(
    "dms_deliveryname", Kind.STRING, "Delivery Name", "The Delivery ID.", max_length=200
)
MIRROR_PAGE_URL = ColumnDef(
    "dms_mirrorpageurl",
    Kind.STRING,
    "Mirror Page URL",
    "The email's mirror page (it expires with the email channel's validity period).",
    max_length=2000,
)
TRACKING_URL = ColumnDef(
    "dms_trackingurl", Kind.STRING, "Tracking URL", "The URL clicked.", max_length=2000
)
EVENT_ID = ColumnDef(
    "dms_eventid", Kind.STRING, "Event Id", "Campaign's id of the event.", max_length=100
)
ACCOUNT = ColumnDef(
    "dms_emailaccountid",
    Kind.STRING,
    "Email account",
    "The id of the connector's email account this event came from.",
    max_length=100,
)


def _activity(name: str, label: str, date_label: str, *extra: ColumnDef) -> TableDefinition:
    logical = f"dms_acsemail{name}"
    return TableDefinition(
        logical_name=logical,
        entity_set=logical + "s",
        display_name=f"Adobe Campaign Email {label}",
        plural_name=f"Adobe Campaign Email {label}s",
        description=f"An Adobe Campaign email {label.lower()} event of a contact.",
        primary_name=SUBJECT,
        columns=(
            CAMPAIGN_NAME,
            DELIVERY_NAME,
            ColumnDef(f"dms_{date_label.lower()}on", Kind.DATETIME, f"Date {date_label}"),
            *extra,
            MIRROR_PAGE_URL,
            EVENT_ID,
            ACCOUNT,
        ),
        activity=True,
    )


ACS_EMAIL_SEND = _activity("send", "Send", "Sent")
ACS_EMAIL_OPEN = _activity("open", "Open", "Opened")
ACS_EMAIL_CLICK = _activity("click", "URL Click", "Clicked", TRACKING_URL)
ACS_EMAIL_BOUNCE = _activity("bounce", "Bounce", "Bounced")  # hard bounces only

ADOBE_ACTIVITY_TABLES: tuple[TableDefinition, ...] = (
    ACS_EMAIL_SEND,
    ACS_EMAIL_OPEN,
    ACS_EMAIL_CLICK,
    ACS_EMAIL_BOUNCE,
)
