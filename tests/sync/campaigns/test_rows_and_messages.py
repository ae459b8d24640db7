"""CampaignStatistics' pure parts: row ids that a replay reproduces and that never collide
between accounts, campaigns or events, and the seed's dataset message."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.clients.dotdigital.campaign_behaviour import CampaignClick
from shared.sync.campaigns.datasets import DATASET_NAMES, failed_message
from shared.sync.campaigns.rows import campaign_row_id, email_click

WHEN = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ROW = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"  # the campaign record's id


def _click(url: str = "https://example.com/a", when: datetime = WHEN) -> CampaignClick:
    return CampaignClick(contact_id=7, email="Ada@Example.com", url=url, date_clicked=when)


def test_a_click_row_has_the_same_id_each_time_and_a_different_one_per_event_and_account() -> None:
    first, body = email_click("acme", 500001, ROW, _click())
    assert email_click("acme", 500001, ROW, _click())[0] == first
    assert email_click("ACME", 500001, ROW, _click())[0] == first  # account ids ignore case
    others = {
        email_click("other", 500001, ROW, _click())[0],
        email_click("acme", 500002, ROW, _click())[0],
        email_click("acme", 500001, ROW, _click(url="https://example.com/b"))[0],
        email_click("acme", 500001, ROW, _click(when=WHEN.replace(minute=1)))[0],
    }
    assert first not in others and len(others) == 4
    assert (
        body["dms_email"] == "Ada@Example.com" and body["dms_clickedon"] == "2026-11-20T10:00:00Z"
    )
    assert body["dms_emailcampaignid@odata.bind"] == f"/dms_emailcampaigns({ROW})"
    assert campaign_row_id("acme", 500001) != campaign_row_id("acme", 500002)


def test_the_failed_datasets_are_named_in_the_seeds_order_whatever_order_they_failed_in() -> None:
    assert failed_message(["PageViews", "EmailClicks"]) == (
        "EmailClicks, PageViews have failed to sync for this Email Campaign."
    )
    assert failed_message(reversed(DATASET_NAMES)) == (
        "EmailSendSummaries, EmailClicks, SocialNetworkBookmarks, RoiDetails, PageViews have "
        "failed to sync for this Email Campaign."
    )
