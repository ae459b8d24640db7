"""Campaigns (v2): list, sent campaigns with activity since a date, per-contact activity since
a date, summary, sending, and the address books a campaign was ever sent to.

The send hazard: `POST /v2/campaigns/send` with empty `addressBookIds` and `contactIds` sends
the campaign to ALL contacts in the account ("Leave the list array empty to send to All
Contacts"). `send_campaign` refuses that before making any request. A send is not repeated
after a lost answer (`OutcomeUnknown`): sending twice is worse than failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.address_books import AddressBook, address_book
from shared.clients.dotdigital.errors import UnsafeCampaignSendError
from shared.clients.dotdigital.paging import V2_LARGE_MAX_SELECT, Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import (
    CAMPAIGN_ACTIVITIES_SINCE,
    CAMPAIGN_ADDRESS_BOOKS,
    CAMPAIGN_SEND_STATUS,
    CAMPAIGN_SUMMARY,
    CAMPAIGNS_WITH_ACTIVITY_SINCE,
    LIST_CAMPAIGNS,
    SEND_CAMPAIGN,
)
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    bool_field,
    field,
    int_field,
    parse_datetime,
    str_field,
    utc_text,
)


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    subject: str = ""
    from_name: str = ""
    from_email: str | None = None
    status: str = ""


def campaign(item: Any) -> Campaign:
    item = as_object(item, "a campaign")
    sender = field(item, "fromAddress")
    return Campaign(
        id=int_field(item, "id"),
        name=str_field(item, "name"),
        subject=str_field(item, "subject"),
        from_name=str_field(item, "fromName"),
        from_email=field(sender, "email") if isinstance(sender, dict) else None,
        status=str_field(item, "status"),
    )


class CampaignActivity(BaseModel):
    """One contact's activity on one campaign (`ApiCampaignContactSummary`)."""

    model_config = ConfigDict(frozen=True)

    contact_id: int
    email: str
    num_opens: int = 0
    num_page_views: int = 0
    num_clicks: int = 0
    num_forwards: int = 0
    num_replies: int = 0
    date_sent: datetime | None = None
    date_first_opened: datetime | None = None
    date_last_opened: datetime | None = None
    unsubscribed: bool = False
    soft_bounced: bool = False
    hard_bounced: bool = False


def campaign_activity(item: Any) -> CampaignActivity:
    item = as_object(item, "a campaign activity")
    return CampaignActivity(
        contact_id=int_field(item, "contactId"),
        email=str_field(item, "email"),
        num_opens=int_field(item, "numOpens"),
        num_page_views=int_field(item, "numPageViews"),
        num_clicks=int_field(item, "numClicks"),
        num_forwards=int_field(item, "numForwards"),
        num_replies=int_field(item, "numReplies"),
        date_sent=parse_datetime(field(item, "dateSent")),
        date_first_opened=parse_datetime(field(item, "dateFirstOpened")),
        date_last_opened=parse_datetime(field(item, "dateLastOpened")),
        unsubscribed=bool_field(item, "unsubscribed"),
        soft_bounced=bool_field(item, "softBounced"),
        hard_bounced=bool_field(item, "hardBounced"),
    )


class CampaignSummary(BaseModel):
    """The headline figures of `GET /v2/campaigns/{id}/summary` (it has ~60; `raw` keeps all)."""

    model_config = ConfigDict(frozen=True)

    date_sent: datetime | None = None
    num_sent: int = 0
    num_delivered: int = 0
    num_unique_opens: int = 0
    num_opens: int = 0
    num_clicks: int = 0
    num_recipients_clicked: int = 0
    num_hard_bounces: int = 0
    num_soft_bounces: int = 0
    num_unsubscribes: int = 0
    num_isp_complaints: int = 0
    raw: dict[str, Any] = {}


def campaign_summary(item: Any) -> CampaignSummary:
    item = as_object(item, "a campaign summary")
    return CampaignSummary(
        date_sent=parse_datetime(field(item, "dateSent")),
        num_sent=int_field(item, "numSent"),
        num_delivered=int_field(item, "numDelivered"),
        num_unique_opens=int_field(item, "numUniqueOpens"),
        num_opens=int_field(item, "numOpens"),
        num_clicks=int_field(item, "numClicks"),
        num_recipients_clicked=int_field(item, "numRecipientsClicked"),
        num_hard_bounces=int_field(item, "numHardBounces"),
        num_soft_bounces=int_field(item, "numSoftBounces"),
        num_unsubscribes=int_field(item, "numUnsubscribes"),
        num_isp_complaints=int_field(item, "numIspComplaints"),
        raw=dict(item),
    )


class CampaignSend(BaseModel):
    """A send request: NotSent, Scheduled, Sending, Sent or Cancelled."""

    model_config = ConfigDict(frozen=True)

    id: str
    campaign_id: int
    status: str
    address_book_ids: tuple[int, ...] = ()
    contact_ids: tuple[int, ...] = ()
    send_date: datetime | None = None


def campaign_send(item: Any) -> CampaignSend:
    item = as_object(item, "a campaign send")
    return CampaignSend(
        id=str_field(item, "id"),
        campaign_id=int_field(item, "campaignId"),
        status=str_field(item, "status"),
        address_book_ids=tuple(int(i) for i in field(item, "addressBookIds") or []),
        contact_ids=tuple(int(i) for i in field(item, "contactIds") or []),
        send_date=parse_datetime(field(item, "sendDate")),
    )


class CampaignsApi(DotdigitalTransport):
    def iter_campaigns(self, *, select: int = 1000, skip: int = 0) -> Paged[Campaign, int]:
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            return as_list(
                self._get(LIST_CAMPAIGNS, params={"select": size, "skip": skip}), "campaigns"
            )

        return v2_paged(fetch, campaign, select=select, what="campaigns", skip=skip)

    def iter_campaigns_with_activity_since(
        self, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[Campaign, int]:
        """Sent campaigns with any contact activity since `since` (aware datetime)."""
        check_select(select)
        date = utc_text(since)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(
                CAMPAIGNS_WITH_ACTIVITY_SINCE,
                path={"date": date},
                params={"select": size, "skip": skip},
            )
            return as_list(page, "campaigns")

        what = "campaigns with activity"
        return v2_paged(fetch, campaign, select=select, what=what, skip=skip)

    def iter_campaign_activities_since(
        self,
        campaign_id: int,
        since: datetime,
        *,
        select: int = V2_LARGE_MAX_SELECT,
        skip: int = 0,
    ) -> Paged[CampaignActivity, int]:
        """Per-contact activity on one campaign since `since`; the spec's default (and our
        maximum) page here is 2000."""
        check_select(select, V2_LARGE_MAX_SELECT)
        date = utc_text(since)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(
                CAMPAIGN_ACTIVITIES_SINCE,
                path={"campaignId": campaign_id, "date": date},
                params={"select": size, "skip": skip},
            )
            return as_list(page, "campaign activities")

        what = f"campaign {campaign_id} activities"
        return v2_paged(fetch, campaign_activity, select=select, what=what, skip=skip)

    def campaign_summary(self, campaign_id: int) -> CampaignSummary:
        return campaign_summary(self._get(CAMPAIGN_SUMMARY, path={"campaignId": campaign_id}))

    def send_campaign(
        self,
        campaign_id: int,
        *,
        address_book_ids: Sequence[int] = (),
        contact_ids: Sequence[int] = (),
        send_date: datetime | None = None,
    ) -> CampaignSend:
        """Send (or schedule) a campaign to the given books and/or contacts. Refuses, before
        any request, a send with neither: Dotdigital would send it to ALL contacts."""
        books = [int(i) for i in address_book_ids]
        contacts = [int(i) for i in contact_ids]
        if not books and not contacts:
            raise UnsafeCampaignSendError(
                f"refusing to send campaign {campaign_id} without address books or contacts: "
                "Dotdigital sends such a campaign to ALL contacts in the account"
            )
        body: dict[str, Any] = {
            "campaignId": campaign_id,
            "addressBookIds": books,
            "contactIds": contacts,
        }
        if send_date is not None:
            body["sendDate"] = utc_text(send_date)
        response = self._call(SEND_CAMPAIGN, json=body, idempotent=False)
        return campaign_send(response.json())

    def campaign_send_status(self, send_id: str) -> CampaignSend:
        return campaign_send(self._get(CAMPAIGN_SEND_STATUS, path={"sendId": send_id}))

    def iter_campaign_address_books(
        self, campaign_id: int, *, select: int = 1000, skip: int = 0
    ) -> Paged[AddressBook, int]:
        """The address books the campaign has ever been sent to: what tells, after a send's
        answer was lost, whether it reached a book it had not been sent to before."""
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(
                CAMPAIGN_ADDRESS_BOOKS,
                path={"campaignId": campaign_id},
                params={"select": size, "skip": skip},
            )
            return as_list(page, "campaign address books")

        what = f"campaign {campaign_id} address books"
        return v2_paged(fetch, address_book, select=select, what=what, skip=skip)
