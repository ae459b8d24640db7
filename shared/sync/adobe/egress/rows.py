"""The Dynamics rows of a Campaign email event: its activity on the contact's timeline and, for
a click or a hard bounce, a follow-up task. Each row's id is uuid5 of the account and the event
id, so an event read twice (a redelivered message, a replayed journal) names the same rows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.clients.dataverse.activities import reference, regarding_bind_name
from shared.dynamics_schema.adobe_activities import (
    ACS_EMAIL_BOUNCE,
    ACS_EMAIL_CLICK,
    ACS_EMAIL_OPEN,
    ACS_EMAIL_SEND,
)
from shared.dynamics_schema.model import TableDefinition
from shared.sync.adobe.egress.events import EmailEvent, Kind

ROW_NAMESPACE = uuid.UUID("0b6f1e52-7c3d-4a8e-9f21-5d4c3b2a1e0f")
SUBJECT_MAX = 200
URL_MAX = 2000
TASK = "task"

TABLES: dict[Kind, TableDefinition] = {
    Kind.SEND: ACS_EMAIL_SEND,
    Kind.OPEN: ACS_EMAIL_OPEN,
    Kind.CLICK: ACS_EMAIL_CLICK,
    Kind.BOUNCE: ACS_EMAIL_BOUNCE,
}
DATE_COLUMNS = {
    Kind.SEND: "dms_senton",
    Kind.OPEN: "dms_openedon",
    Kind.CLICK: "dms_clickedon",
    Kind.BOUNCE: "dms_bouncedon",
}

Body = dict[str, Any]


def row_id(account_id: str, *key: object) -> str:
    text = "/".join(str(part) for part in (account_id.casefold(), *key))
    return str(uuid.uuid5(ROW_NAMESPACE, text))


def activity_id(account_id: str, event_id: str) -> str:
    return row_id(account_id, "event", event_id)


def task_id(account_id: str, event_id: str) -> str:
    return row_id(account_id, "task", event_id)


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def subject(event: EmailEvent) -> str:
    """ "Campaign ID + Delivery ID", as Adobe's integration names the activity."""
    return f"{event.campaign_id} {event.delivery_id}".strip()[:SUBJECT_MAX] or event.event_id


def activity_body(account_id: str, event: EmailEvent, contact_id: str) -> Body:
    table = TABLES[event.kind]
    body: Body = {
        "subject": subject(event),
        "dms_campaignname": event.campaign_id[:SUBJECT_MAX],
        "dms_deliveryname": event.delivery_id[:SUBJECT_MAX],
        DATE_COLUMNS[event.kind]: _when(event.at),
        "dms_mirrorpageurl": event.mirror_page_url[:URL_MAX],
        "dms_eventid": event.event_id[:100],
        "dms_emailaccountid": account_id,
        "actualend": _when(event.at),  # the timeline orders activities by it
        regarding_bind_name("contact", table.logical_name): reference("contact", contact_id),
    }
    if event.kind is Kind.CLICK:
        body["dms_trackingurl"] = event.tracking_url[:URL_MAX]
    return body


def click_task_body(event: EmailEvent, contact_id: str, due_days: int) -> Body:
    """The Relationship Assistant's follow-up of a URL click: a task due `due_days` later."""
    who = event.email or "The contact"
    return {
        "subject": f"Follow up: {who} clicked {event.tracking_url}"[:SUBJECT_MAX],
        "description": (
            f"{who} clicked {event.tracking_url} in Adobe Campaign delivery "
            f"{event.delivery_id} of campaign {event.campaign_id} on {_when(event.at)}."
        )[:URL_MAX],
        "scheduledend": _when(event.at + timedelta(days=due_days)),
        regarding_bind_name("contact", TASK): reference("contact", contact_id),
    }


def bounce_task_body(event: EmailEvent, contact_id: str) -> Body:
    """The "reconcile the invalid email address" task of a hard bounce."""
    address = event.email or "the contact's email address"
    return {
        "subject": f"Reconcile the invalid email address {address}"[:SUBJECT_MAX],
        "description": (
            f"Adobe Campaign delivery {event.delivery_id} of campaign {event.campaign_id} "
            f"bounced (hard) for {address} on {_when(event.at)}: correct or remove the address."
        )[:URL_MAX],
        regarding_bind_name("contact", TASK): reference("contact", contact_id),
    }
