"""Campaign email events as the journal carries them, read into `EmailEvent`s.

The envelope is CloudEvents (`id`, `type`, `time`); `data` names the profile (`externalId`,
which holds the Dynamics contactid, and `email`), the campaign and delivery ids, the mirror
page's href, the clicked URL of a click and the bounce type of a bounce. Adobe publishes no
schema for Campaign Standard's email events in I/O Events: these names are the ones the
sandbox uses (DESIGN.md, "EventEgress"), read in this one module so a different payload is one
change. An event of another type (the registration may carry others) is not an email event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.errors import BadInputError


class Kind(StrEnum):
    SEND = "send"
    OPEN = "open"
    CLICK = "click"
    BOUNCE = "bounce"


EVENT_TYPES = {
    "com.adobe.campaign.email.sent": Kind.SEND,
    "com.adobe.campaign.email.opened": Kind.OPEN,
    "com.adobe.campaign.email.clicked": Kind.CLICK,
    "com.adobe.campaign.email.bounced": Kind.BOUNCE,
}
HARD = "hard"


@dataclass(frozen=True)
class EmailEvent:
    kind: Kind
    event_id: str
    at: datetime
    external_id: str  # the profile's externalId: the contactid, or "" when the profile has none
    email: str
    campaign_id: str
    delivery_id: str
    mirror_page_url: str
    tracking_url: str = ""  # clicks
    hard_bounce: bool = True  # bounces: only hard ones reach Dynamics


class UnreadableEvent(BadInputError):
    """An email event without the fields every one has (its id, its time): counted as failed
    and named in the audit by its journal position; the other events go on."""


def _time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise UnreadableEvent("no time")
    moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_event(event: dict[str, Any]) -> EmailEvent | None:
    """The email event, or None for an event of another type; raises UnreadableEvent."""
    kind = EVENT_TYPES.get(str(event.get("type") or ""))
    if kind is None:
        return None
    event_id = _text(event.get("id"))
    if not event_id:
        raise UnreadableEvent("no id")
    try:
        at = _time(event.get("time"))
    except ValueError as error:
        raise UnreadableEvent(f"event {event_id}: unreadable time") from error
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    assert isinstance(data, dict)
    profile = data.get("profile") if isinstance(data.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    mirror = data.get("mirrorPage") if isinstance(data.get("mirrorPage"), dict) else {}
    assert isinstance(mirror, dict)
    return EmailEvent(
        kind=kind,
        event_id=event_id,
        at=at,
        external_id=_text(profile.get("externalId")),
        email=_text(profile.get("email")),
        campaign_id=_text(data.get("campaignId")),
        delivery_id=_text(data.get("deliveryId")),
        mirror_page_url=_text(mirror.get("href")),
        tracking_url=_text(data.get("trackingUrl")),
        hard_bounce=_text(data.get("bounceType")).lower() in (HARD, ""),
    )
