"""Campaigns of the sandbox account, each contact's activity on them (with its clicks, page views,
ROI markers and social bookmark views: `campaign_behaviour` generates them), and sends.

A send with neither address books nor contacts goes to ALL subscribed contacts of the account,
as Dotdigital documents ("Leave the list array empty to send to All Contacts"): the sandbox
reproduces the hazard, so a test can show what the client's guard prevents.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class ActivityRecord:
    contact_id: int
    email: str
    date_sent: float
    num_opens: int = 0
    num_clicks: int = 0
    num_page_views: int = 0
    date_first_opened: float | None = None
    date_last_opened: float | None = None
    unsubscribed: bool = False
    soft_bounced: bool = False
    hard_bounced: bool = False
    date_last_event: float | None = None  # the latest click, page view or ROI marker

    @property
    def last_activity(self) -> float:
        return max(self.date_sent, self.date_last_opened or 0.0, self.date_last_event or 0.0)


@dataclass(slots=True, frozen=True)
class ClickRecord:
    contact_id: int
    email: str
    url: str
    date: float


@dataclass(slots=True, frozen=True)
class PageViewRecord:
    contact_id: int
    email: str
    url: str
    date: float


@dataclass(slots=True, frozen=True)
class RoiRecord:
    contact_id: int
    email: str
    marker: str
    data_type: str  # String | Numeric | Date | Boolean (ApiRoiDetailDataTypes)
    value: str | float | bool
    date: float


@dataclass(slots=True)
class BookmarkRecord:
    """Views of the campaign shared on one social network by one contact (no date: the
    API reports only the count)."""

    contact_id: int
    email: str
    name: str
    num_views: int = 1


@dataclass(eq=False)
class CampaignRecord:
    id: int
    name: str
    subject: str
    from_name: str = "Sandbox Marketing"
    from_email: str = "news@example.invalid"
    status: str = "Unsent"
    date_sent: float | None = None
    activities: dict[int, ActivityRecord] = field(default_factory=dict)  # by contact id
    # Events in the order they happened (the since-date reads answer in this order).
    clicks: list[ClickRecord] = field(default_factory=list)
    page_views: list[PageViewRecord] = field(default_factory=list)
    roi_details: list[RoiRecord] = field(default_factory=list)
    bookmarks: list[BookmarkRecord] = field(default_factory=list)

    def last_activity(self) -> float | None:
        return max((a.last_activity for a in self.activities.values()), default=None)


@dataclass(eq=False)
class SendRecord:
    id: str
    campaign_id: int
    address_book_ids: list[int]
    contact_ids: list[int]
    send_date: float
    recipients: list[int]
    status: str = "Sending"
    polls: int = 0

    @property
    def to_all_contacts(self) -> bool:
        return not self.address_book_ids and not self.contact_ids
