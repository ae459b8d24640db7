"""Campaign's email marketing events as the sandbox keeps them: an Adobe I/O Events journal
(one event registration) of send, open, click and bounce events, each about a profile.

The journal is ordered; each entry has an opaque position and expires 7 days after it was
written, as Adobe's journal does. The event payload is the sandbox's choice (INFER: Adobe
publishes no payload schema for Campaign Standard's email events): a CloudEvents envelope
(`id`, `type`, `time`, `source`) whose `data` names the profile by its `externalId` and email,
the campaign and delivery ids, the mirror page's href, the clicked URL (clicks) and the bounce
type (bounces; only hard ones reach Dynamics).
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# INFER: the event type names of Campaign's email events in the journal.
EVENT_TYPES = {
    "send": "com.adobe.campaign.email.sent",
    "open": "com.adobe.campaign.email.opened",
    "click": "com.adobe.campaign.email.clicked",
    "bounce": "com.adobe.campaign.email.bounced",
}
RETENTION_SECONDS = 7 * 24 * 3600  # "A journal will retain the events for up to 7 days"
DEMO_IMS_ORG_ID = "5A1DB0C0FFEE00000A490D45@AdobeOrg"
DEMO_CONSUMER_ORG = "61733"
DEMO_INTEGRATION = "118204"
DEMO_REGISTRATION = "8f2c6a6e-3b0d-4e57-9d55-0c1d3e4f5a6b"


def event_time(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class JournalEntry:
    index: int
    written_at: float
    event: dict[str, Any]


@dataclass
class EventJournal:
    """One event registration's journal. `batch`: how many events a response carries at most
    when the request gives no `limit` (Adobe names no upper bound; the sandbox needs one)."""

    salt: str
    entries: list[JournalEntry] = field(default_factory=list)
    batch: int = 100
    registration: str = DEMO_REGISTRATION

    def position(self, index: int) -> str:
        raw = f"{self.salt}:{index}".encode()
        return "sbx:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def index_of(self, position: str) -> int | None:
        """The index a position names; None for one this journal never handed out."""
        if not position.startswith("sbx:"):
            return None
        text = position[4:]
        try:
            salt, number = (
                base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split(":")
            )
            index = int(number)
        except (ValueError, UnicodeDecodeError):
            return None
        return index if salt == self.salt and index >= -1 else None

    def live(self, now: float) -> list[JournalEntry]:
        return [e for e in self.entries if e.written_at + RETENTION_SECONDS > now]

    def append(self, event: dict[str, Any], now: float) -> JournalEntry:
        entry = JournalEntry(len(self.entries), now, event)
        self.entries.append(entry)
        return entry


def email_event(
    kind: str,
    *,
    external_id: str,
    email: str,
    campaign_id: str,
    delivery_id: str,
    at: float,
    mirror_page: str,
    url: str = "",
    bounce_type: str = "hard",
    event_id: str | None = None,
) -> dict[str, Any]:
    """One event as the journal's `event` holds it."""
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown email event kind {kind!r}")
    data: dict[str, Any] = {
        "profile": {"externalId": external_id, "email": email},
        "campaignId": campaign_id,
        "deliveryId": delivery_id,
        "mirrorPage": {"href": mirror_page},
    }
    if kind == "click":
        data["trackingUrl"] = url
    if kind == "bounce":
        data["bounceType"] = bounce_type
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "urn:adobe:campaign:standard",
        "type": EVENT_TYPES[kind],
        "time": event_time(at),
        "datacontenttype": "application/json",
        "data": data,
    }


@dataclass(frozen=True)
class EventMix:
    """What `generate` writes for each send: the share of sends opened, of opens clicked, of
    sends that bounce (hard) and of bounces that are soft (never shown in Dynamics)."""

    open_rate: float = 0.5
    click_rate: float = 0.4
    bounce_rate: float = 0.1
    soft_bounce_share: float = 0.3


def generated_events(
    profiles: list[dict[str, Any]],
    count: int,
    *,
    seed: int,
    start: float,
    mirror_base: str,
    mix: EventMix | None = None,
) -> list[tuple[float, dict[str, Any]]]:
    """`count` events (time, event) for these profiles: each send followed by what the mix
    gives (open, click; or a bounce), over deliveries DM1.. of campaigns CM1.., one second
    apart. Deterministic for a seed (event ids too)."""
    mix = mix or EventMix()
    rng = random.Random(seed)
    out: list[tuple[float, dict[str, Any]]] = []
    at = start
    n = 0
    while len(out) < count and profiles:
        profile = profiles[n % len(profiles)]
        campaign, delivery = f"CM{1 + n // 500}", f"DM{1 + n // 100}"
        n += 1
        kinds = ["send"]
        if rng.random() < mix.bounce_rate:
            kinds.append("bounce")
        elif rng.random() < mix.open_rate:
            kinds.append("open")
            if rng.random() < mix.click_rate:
                kinds.append("click")
        for kind in kinds:
            if len(out) >= count:
                break
            at += 1.0
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            soft = kind == "bounce" and rng.random() < mix.soft_bounce_share
            out.append((at, email_event(
                kind, external_id=str(profile.get("externalId") or ""),
                email=str(profile.get("email") or ""), campaign_id=campaign,
                delivery_id=delivery, at=at,
                mirror_page=f"{mirror_base}/mirror/{delivery}/{event_id}",
                url=f"https://shop.example.com/offer/{n % 7}", event_id=event_id,
                bounce_type="soft" if soft else "hard",
            )))  # fmt: skip
    return out
