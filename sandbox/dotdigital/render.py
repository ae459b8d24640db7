"""The sandbox's records as Dotdigital's JSON objects (v2 `Api*` schemas, v3 `contact`)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sandbox.dotdigital.campaigns import ActivityRecord, CampaignRecord, SendRecord
from sandbox.dotdigital.contacts import (
    V3_STATUS,
    AddressBookRecord,
    ContactRecord,
    ContactStore,
    SuppressionRecord,
)
from sandbox.dotdigital.programs import EnrolmentRecord, PreferenceRecord, ProgramRecord
from sandbox.dotdigital.wire import iso


def address_book(book: AddressBookRecord) -> dict[str, Any]:
    return {
        "id": book.id,
        "name": book.name,
        "visibility": book.visibility,
        "contacts": len(book.members),
    }


def v2_contact(contact: ContactRecord, fields: Collection[str] | None) -> dict[str, Any]:
    """`ApiContact`; `fields` (the account's data field names) for full data, else null."""
    return {
        "id": contact.id,
        "email": contact.email or "",
        "optInType": contact.opt_in_type,
        "emailType": contact.email_type,
        "dataFields": None
        if fields is None
        else [{"key": name, "value": contact.data.get(name)} for name in fields],
        "status": contact.status,
    }


def suppression(record: SuppressionRecord, contact: ContactRecord) -> dict[str, Any]:
    return {
        "suppressedContact": v2_contact(contact, None),
        "dateRemoved": iso(record.date),
        "reason": record.reason,
    }


def v3_contact(
    contact: ContactRecord,
    store: ContactStore,
    *,
    fields: Collection[str] | None,
    include: Collection[str],
    preference_names: dict[int, str] | None = None,
) -> dict[str, Any]:
    """The v3 `contact`: id, status, dates and identifiers always; `fields` data fields (None:
    none); channelProperties, lists, preferences, consentRecords when included."""
    status, email_status = V3_STATUS.get(contact.status, ("subscribed", "subscribed"))
    identifiers: dict[str, str] = {}
    if contact.email is not None:
        identifiers["email"] = contact.email
    if contact.mobile is not None:
        identifiers["mobileNumber"] = contact.mobile
    body: dict[str, Any] = {
        "contactId": contact.id,
        "status": status,
        "created": iso(contact.created),
        "updated": iso(contact.updated),
        "identifiers": identifiers,
    }
    if fields is not None:
        body["dataFields"] = {name: contact.data.get(name) for name in fields}
    if "channelProperties" in include:
        body["channelProperties"] = {
            "email": {
                "emailType": contact.email_type,
                "optInType": contact.opt_in_type,
                "status": email_status,
            }
        }
    if "lists" in include:
        body["lists"] = [
            {"id": book_id, "name": store.books[book_id].name, "status": list_status}
            for book_id, list_status in contact.books.items()
            if book_id in store.books
        ]
    if "preferences" in include and contact.preferences and preference_names is not None:
        body["preferences"] = [
            {"id": pid, "isOptedIn": True, "name": preference_names.get(pid, "")}
            for pid in sorted(contact.preferences)
        ]
    if "consentRecords" in include:
        body["consentRecords"] = []
    return body


def campaign(record: CampaignRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "subject": record.subject,
        "fromName": record.from_name,
        "fromAddress": {"id": 1, "email": record.from_email},
        "htmlContent": f"<p>{record.subject}</p>",
        "plainTextContent": record.subject,
        "replyAction": "Unset",
        "replyToAddress": "",
        "isSplitTest": False,
        "status": record.status,
    }


def activity(record: ActivityRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contactId": record.contact_id,
        "email": record.email,
        "numOpens": record.num_opens,
        "numPageViews": record.num_page_views,
        "numClicks": record.num_clicks,
        "numForwards": 0,
        "numEstimatedForwards": 0,
        "numReplies": 0,
        "dateSent": iso(record.date_sent),
        "unsubscribed": record.unsubscribed,
        "softBounced": record.soft_bounced,
        "hardBounced": record.hard_bounced,
    }
    if record.date_first_opened is not None:
        body["dateFirstOpened"] = iso(record.date_first_opened)
    if record.date_last_opened is not None:
        body["dateLastOpened"] = iso(record.date_last_opened)
    return body


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def campaign_summary(record: CampaignRecord) -> dict[str, Any]:
    rows = list(record.activities.values())
    sent = len(rows)
    hard = sum(a.hard_bounced for a in rows)
    soft = sum(a.soft_bounced for a in rows)
    delivered = sent - hard - soft
    unique_opens = sum(a.num_opens > 0 for a in rows)
    opens = sum(a.num_opens for a in rows)
    clicks = sum(a.num_clicks for a in rows)
    clickers = sum(a.num_clicks > 0 for a in rows)
    unsubscribes = sum(a.unsubscribed for a in rows)
    page_views = sum(a.num_page_views for a in rows)
    body: dict[str, Any] = {
        "numUniqueOpens": unique_opens,
        "numTotalUniqueOpens": unique_opens,
        "numOpens": opens,
        "numTotalOpens": opens,
        "numClicks": clicks,
        "numTotalClicks": clicks,
        "numPageViews": page_views,
        "numTotalPageViews": page_views,
        "numHardBounces": hard,
        "numTotalHardBounces": hard,
        "numSoftBounces": soft,
        "numTotalSoftBounces": soft,
        "numUnsubscribes": unsubscribes,
        "numTotalUnsubscribes": unsubscribes,
        "numIspComplaints": 0,
        "numSent": sent,
        "numTotalSent": sent,
        "numRecipientsClicked": clickers,
        "numDelivered": delivered,
        "numTotalDelivered": delivered,
        "percentageDelivered": _percent(delivered, sent),
        "percentageUniqueOpens": _percent(unique_opens, delivered),
        "percentageOpens": _percent(opens, delivered),
        "percentageUnsubscribes": _percent(unsubscribes, delivered),
        "percentageHardBounces": _percent(hard, sent),
        "percentageSoftBounces": _percent(soft, sent),
        "percentageUsersClicked": _percent(clickers, delivered),
        "percentageClicksToOpens": _percent(clickers, unique_opens),
        "revenue": "0.00",
        "numOrders": 0,
    }
    if record.date_sent is not None:
        body["dateSent"] = iso(record.date_sent)
    return body


def campaign_send(send: SendRecord) -> dict[str, Any]:
    return {
        "id": send.id,
        "campaignId": send.campaign_id,
        "addressBookIds": send.address_book_ids,
        "contactIds": send.contact_ids,
        "sendDate": iso(send.send_date),
        "status": send.status,
    }


def program(record: ProgramRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "dateCreated": iso(record.date_created),
    }


def enrolment(record: EnrolmentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "programId": record.program_id,
        "status": record.status,
        "dateCreated": iso(record.date_created),
        "contacts": record.contacts,
        "addressBooks": record.address_books,
    }


def preference(record: PreferenceRecord, opted_in: set[int] | None) -> dict[str, Any]:
    """`ApiPreference`; with `opted_in` (a contact's preference ids) each preference says
    whether the contact is opted in."""
    body: dict[str, Any] = {
        "id": record.id,
        "publicName": record.public_name,
        "privateName": record.private_name,
        "isPreference": record.is_preference,
        "order": str(record.order),
        "isPublic": record.is_public,
        "categoryId": record.category_id,
        "preferenceCount": len(record.children),
        "created": iso(record.created),
        "lastModified": iso(record.last_modified),
    }
    if record.is_preference:
        if opted_in is not None:
            body["isOptedIn"] = record.id in opted_in
    else:
        body["preferences"] = [preference(child, opted_in) for child in record.children]
    return body
