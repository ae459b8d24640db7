"""The Email Send rows of Dynamics (`dms_emailsend`) as the EmailSends sync reads and moves
them, and the campaign rows they point at. A CRM user creates a row (campaign, marketing list,
email account, status Requested); the connector moves it on (`SendStatus`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import IntEnum
from typing import Any

from pydantic import BaseModel

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import literal
from shared.clients.dataverse.paging import Record
from shared.dynamics_schema.engagement import EMAIL_CAMPAIGN, EMAIL_SEND
from shared.errors import ApiError

SENDS = EMAIL_SEND.entity_set
CAMPAIGNS = EMAIL_CAMPAIGN.entity_set
SEND_COLUMNS = (
    "dms_name",
    "dms_status",
    "_dms_emailcampaignid_value",
    "_dms_listid_value",
    "dms_emailaccountid",
    "dms_message",
    "statecode",
)
CAMPAIGN_COLUMNS = ("dms_name", "dms_platformid", "dms_emailaccountid")


class SendStatus(IntEnum):
    """`dms_emailsend.dms_status` (shared/dynamics_schema/engagement.py SEND_STATUSES)."""

    REQUESTED = 1
    SYNCHRONISING_LIST = 2
    SENDING = 3
    SENT = 4
    REFUSED = 5
    FAILED = 6


# Rows a run takes up: new requests, and rows a run that ended early left part-way.
PENDING = (SendStatus.REQUESTED, SendStatus.SYNCHRONISING_LIST, SendStatus.SENDING)


class SendRow(BaseModel):
    send_id: str
    name: str = ""
    status: int | None = None
    campaign_row_id: str | None = None
    list_id: str | None = None
    account_id: str = ""
    message: str = ""

    @property
    def pending(self) -> bool:
        return self.status in PENDING


class CampaignRow(BaseModel):
    row_id: str
    name: str = ""
    platform_id: int | None = None
    account_id: str = ""


def _send_row(record: Record) -> SendRow:
    return SendRow(
        send_id=str(record["dms_emailsendid"]).lower(),
        name=str(record.get("dms_name") or ""),
        status=record.get("dms_status"),
        campaign_row_id=record.get("_dms_emailcampaignid_value") or None,
        list_id=(record.get("_dms_listid_value") or "").lower() or None,
        account_id=str(record.get("dms_emailaccountid") or ""),
        message=str(record.get("dms_message") or ""),
    )


def pending_filter(account_id: str) -> str:
    statuses = " or ".join(f"dms_status eq {int(s)}" for s in PENDING)
    return f"dms_emailaccountid eq {literal(account_id)} and statecode eq 0 and ({statuses})"


def iter_pending(dataverse: DataverseClient, account_id: str) -> Iterator[SendRow]:
    """The account's active Email Sends still to do (Dataverse compares the account id without
    regard to case, as the connector does)."""
    select = ("dms_emailsendid", *SEND_COLUMNS)
    for record in dataverse.iter_records(SENDS, select, filter=pending_filter(account_id)):
        yield _send_row(record)


def read_send(dataverse: DataverseClient, send_id: str) -> SendRow | None:
    record = dataverse.retrieve(SENDS, send_id, ("dms_emailsendid", *SEND_COLUMNS))
    return None if record is None else _send_row(record)


def read_campaign(dataverse: DataverseClient, row_id: str) -> CampaignRow | None:
    record = dataverse.retrieve(CAMPAIGNS, row_id, ("dms_emailcampaignid", *CAMPAIGN_COLUMNS))
    if record is None:
        return None
    platform_id = record.get("dms_platformid")
    return CampaignRow(
        row_id=row_id,
        name=str(record.get("dms_name") or ""),
        platform_id=int(platform_id) if platform_id is not None else None,
        account_id=str(record.get("dms_emailaccountid") or ""),
    )


def move(
    dataverse: DataverseClient,
    send_id: str,
    status: SendStatus,
    message: str,
    *,
    sent_on: datetime | None = None,
    platform_send_id: str | None = None,
) -> None:
    """Write the row's new status and message (and, once sent, when and the platform's id). A
    row deleted meanwhile is left deleted: there is nothing to tell its owner any more."""
    data: dict[str, Any] = {"dms_status": int(status), "dms_message": message[:1000]}
    if sent_on is not None:
        data["dms_senton"] = sent_on.isoformat().replace("+00:00", "Z")
    if platform_send_id is not None:
        data["dms_platformsendid"] = platform_send_id[:100]
    try:
        dataverse.update(SENDS, send_id, data)
    except ApiError as error:
        if error.status != 404:
            raise
