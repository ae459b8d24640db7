"""Reading Campaign email events from the journal's payload, and where the journal may be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sandbox.adobe.events import email_event
from shared.storage.adobe_config_model import EgressSettings
from shared.sync.adobe.egress.events import Kind, UnreadableEvent, read_event


def _event(kind: str, **fields: str) -> dict[str, object]:
    return email_event(kind, external_id="c1", email="a@example.com", campaign_id="CM1",
                       delivery_id="DM2", at=1_700_000_000.5, mirror_page="https://m/1",
                       **fields)  # fmt: skip


def test_an_email_event_reads_with_its_fields() -> None:
    click = read_event(_event("click", url="https://shop.example.com/x"))
    assert click is not None and click.kind is Kind.CLICK
    assert (click.external_id, click.email, click.campaign_id, click.delivery_id) == (
        "c1", "a@example.com", "CM1", "DM2")  # fmt: skip
    assert click.tracking_url == "https://shop.example.com/x"
    assert click.mirror_page_url == "https://m/1"
    assert click.at == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)


def test_soft_bounces_are_told_from_hard_ones() -> None:
    hard, soft = read_event(_event("bounce")), read_event(_event("bounce", bounce_type="soft"))
    assert hard is not None and hard.hard_bounce
    assert soft is not None and not soft.hard_bounce


def test_an_event_of_another_type_is_not_an_email_event() -> None:
    assert read_event({"id": "x", "type": "com.adobe.campaign.profile.updated"}) is None


@pytest.mark.parametrize("broken", [{"id": ""}, {"time": ""}, {"time": "yesterday"}])
def test_an_email_event_without_its_id_or_time_is_unreadable(broken: dict[str, str]) -> None:
    with pytest.raises(UnreadableEvent):
        read_event(_event("open") | broken)


@pytest.mark.parametrize(
    "url",
    ["http://events.adobe.io/events/organizations/1/integrations/2/r",
     "https://user:pw@events.adobe.io/events/x", "https://events.adobe.io/events/x?since=1"],
)  # fmt: skip
def test_the_journal_is_a_plain_https_url(url: str) -> None:
    with pytest.raises(ValidationError, match="journaling endpoint"):
        EgressSettings(journal_url=url)


def test_the_ims_organization_is_an_adobe_org_id() -> None:
    assert EgressSettings(ims_org_id="ABC123@AdobeOrg").ims_org_id == "ABC123@AdobeOrg"
    with pytest.raises(ValidationError):
        EgressSettings(ims_org_id="ABC123")
