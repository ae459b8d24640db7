"""Campaign behaviour in the sandbox: a sent campaign generated deterministically from a spec
(N recipients, open and click rates, and the events behind the figures: clicks, page views
after a click, ROI markers, social bookmark views), and single events for tests that add
activity after a run.

    campaign = send_generated(state, BehaviourSpec(recipients=100_000, open_rate=0.2,
                                                   click_rate=0.05))

Rates give exact counts (`round(recipients * rate)`), drawn from a seeded shuffle, so the same
spec gives the same campaign and a bench can state what the API must hand out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.dotdigital.campaigns import (
    ActivityRecord,
    BookmarkRecord,
    CampaignRecord,
    ClickRecord,
    PageViewRecord,
    RoiRecord,
)

if TYPE_CHECKING:
    from sandbox.dotdigital.state import DotdigitalState

HOUR = 3600.0
URLS = ("https://shop.example.com/sale", "https://shop.example.com/new", "https://example.com/")
NETWORKS = ("Facebook", "LinkedIn", "X")


@dataclass(frozen=True)
class BehaviourSpec:
    recipients: int
    open_rate: float = 0.2  # of recipients
    click_rate: float = 0.05  # of recipients (every clicker opened)
    page_view_rate: float = 0.5  # of clickers: two page views each
    roi_rate: float = 0.2  # of clickers: an order marker each
    bookmark_rate: float = 0.01  # of openers: one network each
    unsubscribe_rate: float = 0.002  # of openers
    bounce_rate: float = 0.01  # of those who did not open (hard bounces)
    name: str = "Generated campaign"
    sent_hours_ago: float = 48.0
    email_pattern: str = "recipient.{n}@example.com"
    emails: tuple[str, ...] = ()  # the first recipients' emails (the pattern for the rest)
    seed: int = 0


def _exact(total: int, rate: float) -> int:
    return min(total, round(total * rate))


def send_generated(state: DotdigitalState, spec: BehaviourSpec) -> CampaignRecord:
    """A Sent campaign whose recipients are the pattern's contacts 0..N-1 (added when missing)."""
    rng = random.Random(spec.seed)
    with state.lock:
        now = state.now()
        sent = float(int(now - spec.sent_hours_ago * HOUR))
        span = now - sent
        campaign = state.add_campaign(spec.name, status="Sent")
        campaign.date_sent = sent
        store = state.store
        people: list[tuple[int, str]] = []
        for n in range(spec.recipients):
            email = spec.emails[n] if n < len(spec.emails) else spec.email_pattern.format(n=n)
            contact = store.by_email(email) or store.add_contact(email, when=sent - 86_400)
            people.append((contact.id, email))
            campaign.activities[contact.id] = ActivityRecord(contact.id, email, date_sent=sent)
        order = list(range(spec.recipients))
        rng.shuffle(order)
        openers = order[: _exact(spec.recipients, spec.open_rate)]
        clickers = openers[: _exact(spec.recipients, spec.click_rate)]
        for index in openers:
            contact_id, _ = people[index]
            first = float(int(sent + rng.random() * span * 0.5))
            activity = campaign.activities[contact_id]
            activity.num_opens = 1 + int(rng.random() * 3)
            activity.date_first_opened = first
            activity.date_last_opened = float(int(first + rng.random() * (now - first) * 0.5))
        for index in order[len(openers) :][: _exact(spec.recipients - len(openers),
                                                     spec.bounce_rate)]:  # fmt: skip
            campaign.activities[people[index][0]].hard_bounced = True
        for index in openers[: _exact(len(openers), spec.unsubscribe_rate)]:
            campaign.activities[people[index][0]].unsubscribed = True
        views = _exact(len(clickers), spec.page_view_rate)
        orders = _exact(len(clickers), spec.roi_rate)
        for position, index in enumerate(clickers):
            contact_id, email = people[index]
            opened = campaign.activities[contact_id].date_last_opened or sent
            when = float(int(opened + 60))
            click(campaign, contact_id, email, URLS[position % len(URLS)], when)
            if position < views:
                view_page(campaign, contact_id, email, URLS[position % len(URLS)], when + 30)
                view_page(campaign, contact_id, email, f"{URLS[0]}/item/{position}", when + 90)
            if position < orders:
                add_roi(campaign, contact_id, email, "OrderValue", "Numeric",
                        round(10 + rng.random() * 90, 2), when + 300)  # fmt: skip
        for position, index in enumerate(openers[: _exact(len(openers), spec.bookmark_rate)]):
            contact_id, email = people[index]
            bookmark(campaign, contact_id, email, NETWORKS[position % len(NETWORKS)])
        for events in (campaign.clicks, campaign.page_views, campaign.roi_details):
            events.sort(key=lambda event: (event.date, event.contact_id))
        return campaign


def _activity(campaign: CampaignRecord, contact_id: int, email: str, when: float) -> ActivityRecord:
    activity = campaign.activities.get(contact_id)
    if activity is None:
        activity = ActivityRecord(contact_id, email, date_sent=campaign.date_sent or when)
        campaign.activities[contact_id] = activity
    activity.date_last_event = max(activity.date_last_event or 0.0, when)
    return activity


def open_email(campaign: CampaignRecord, contact_id: int, email: str, when: float) -> None:
    activity = _activity(campaign, contact_id, email, when)
    activity.num_opens += 1
    activity.date_first_opened = activity.date_first_opened or when
    activity.date_last_opened = max(activity.date_last_opened or 0.0, when)


def click(campaign: CampaignRecord, contact_id: int, email: str, url: str, when: float) -> None:
    """A click (Dotdigital counts the open a click implies when none was tracked)."""
    activity = _activity(campaign, contact_id, email, when)
    if not activity.num_opens:
        open_email(campaign, contact_id, email, when)
    activity.num_clicks += 1
    campaign.clicks.append(ClickRecord(contact_id, email, url, when))


def view_page(campaign: CampaignRecord, contact_id: int, email: str, url: str, when: float) -> None:
    _activity(campaign, contact_id, email, when).num_page_views += 1
    campaign.page_views.append(PageViewRecord(contact_id, email, url, when))


def add_roi(
    campaign: CampaignRecord,
    contact_id: int,
    email: str,
    marker: str,
    data_type: str,
    value: str | float | bool,
    when: float,
) -> None:
    _activity(campaign, contact_id, email, when)
    campaign.roi_details.append(RoiRecord(contact_id, email, marker, data_type, value, when))


def bookmark(campaign: CampaignRecord, contact_id: int, email: str, network: str) -> None:
    """One more view through `network`: the contact's row for it counts up."""
    for row in campaign.bookmarks:
        if row.contact_id == contact_id and row.name == network:
            row.num_views += 1
            return
    campaign.bookmarks.append(BookmarkRecord(contact_id, email, network))
