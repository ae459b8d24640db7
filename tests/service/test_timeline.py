"""The engagement timeline through the service layer, read from engagement rows in the Dataverse
sandbox: order, totals, first and last, the Emails option, a time range, an empty history,
unknown ids, and a history longer than what is shown."""

from __future__ import annotations

from datetime import datetime

import pytest

from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.errors import BadInputError, NotFoundError
from shared.runtime import Runtime
from shared.service.timeline import KindFilter, Timeline, engagement_timeline
from tests.fixtures.engagement_rows import Seeded, seed_page_views


def _lines(timeline: Timeline) -> list[tuple[str, str, str]]:
    return [(f"{e.when:%m-%d %H:%M}", e.kind.value, e.title) for e in timeline.events]


def test_a_contacts_interactions_in_time_order_with_totals(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    timeline = engagement_timeline(sync_runtime, "acme", contact_id=engagement.ada)

    assert (timeline.person.name, timeline.person.email, timeline.person.kind) == (
        "Ada Lovelace", "ada@example.com", "contact",
    )  # fmt: skip
    assert _lines(timeline) == [
        ("11-01 09:00", "sent", "Email sent: November news"),
        ("11-01 10:00", "opened", "Email opened: November news"),
        ("11-01 10:05", "clicked", "Link clicked: November news"),
        ("11-01 10:06", "page_view", "Page viewed: November news"),
        ("11-02 07:00", "clicked", "Link clicked: November news"),  # kept by email only
        ("11-03 08:00", "opened", "Email opened: November news"),
        ("11-05 14:00", "form_response", "Form answered: Feedback"),
        ("11-10 12:00", "page_view", "Page viewed (WebInsight)"),
        ("11-20 09:00", "sent", "Email sent: Black Friday"),
    ]
    opened_first, opened_last = (e for e in timeline.events if e.kind == "opened")
    assert opened_first.detail == "First of 3 opens (last 2026-11-03 08:00 UTC)"
    assert opened_last.detail == "Last of 3 opens"
    assert timeline.events[-1].detail == "Soft bounced"
    view = timeline.events[3]
    assert (view.url, view.detail) == ("https://example.com/offer",
                                       "https://example.com/offer (42 s)")  # fmt: skip
    form = timeline.events[6]
    assert form.form == "Feedback"
    assert [(a.question, a.answer) for a in form.answers] == [
        ("How did you hear of us?", "A friend"), ("Comments", "More of this, please"),
    ]  # fmt: skip
    totals = timeline.totals
    assert (totals.emails_sent, totals.emails_opened, totals.clicks, totals.page_views,
            totals.form_responses, totals.at_least) == (2, 1, 2, 2, 1, False)  # fmt: skip
    assert timeline.first_interaction == timeline.events[0]
    assert timeline.last_interaction == timeline.events[-1]
    assert timeline.earlier == 0


def test_the_emails_option_shows_sends_and_opens_only(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    timeline = engagement_timeline(
        sync_runtime, "acme", contact_id=engagement.ada, kinds=[KindFilter.EMAILS]
    )

    assert {e.kind.value for e in timeline.events} == {"sent", "opened"}
    assert len(timeline.events) == 4
    assert (timeline.totals.emails_sent, timeline.totals.emails_opened) == (2, 1)
    assert timeline.totals.clicks is None and timeline.totals.form_responses is None
    assert timeline.last_interaction is not None
    assert timeline.last_interaction.title == "Email sent: Black Friday"


def test_a_time_range_keeps_what_happened_from_its_start_until_before_its_end(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    timeline = engagement_timeline(
        sync_runtime, "acme", contact_id=engagement.ada,
        since=datetime(2026, 11, 1, 10, 5), until=datetime(2026, 11, 10, 12, 0),
    )  # fmt: skip

    assert [line[0] for line in _lines(timeline)] == [
        "11-01 10:05", "11-01 10:06", "11-02 07:00", "11-03 08:00", "11-05 14:00",
    ]  # fmt: skip
    assert timeline.totals.emails_sent == 0 and timeline.totals.clicks == 2
    with pytest.raises(BadInputError, match="must be before"):
        engagement_timeline(sync_runtime, "acme", contact_id=engagement.ada,
                            since=datetime(2026, 12, 1), until=datetime(2026, 11, 1))  # fmt: skip


def test_a_lead_and_a_person_without_interactions(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    lead = engagement_timeline(sync_runtime, "acme", lead_id=engagement.lena)
    assert _lines(lead) == [("11-06 08:00", "form_response", "Form started: Feedback")]
    assert lead.person.kind == "lead" and lead.totals.form_responses == 1

    quiet = engagement_timeline(sync_runtime, "acme", contact_id=engagement.quiet)
    assert quiet.events == [] and quiet.earlier == 0
    assert quiet.first_interaction is None and quiet.last_interaction is None
    assert quiet.totals.emails_sent == 0 and quiet.totals.page_views == 0


def test_unknown_people_and_ids_that_cannot_be_one_are_refused(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    with pytest.raises(NotFoundError, match="check the id") as missing:
        engagement_timeline(sync_runtime, "acme", contact_id=engagement.lena)  # a lead's id
    assert "it is a contact, not a lead" in str(missing.value)
    with pytest.raises(BadInputError, match="give the record's GUID"):
        engagement_timeline(sync_runtime, "acme", lead_id="lena@example.com")
    with pytest.raises(BadInputError, match="one contact or one lead"):
        engagement_timeline(
            sync_runtime, "acme", contact_id=engagement.ada, lead_id=engagement.lena
        )
    with pytest.raises(NotFoundError, match="No email account 'globex'"):
        engagement_timeline(sync_runtime, "globex", contact_id=engagement.ada)


def test_a_long_history_shows_the_newest_and_counts_the_rest(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded, dv: DataverseState
) -> None:
    seed_page_views(dv, engagement.bob, 130)  # 00:00 .. 02:09 on 2026-10-01
    dv.counters.reset()

    timeline = engagement_timeline(sync_runtime, "acme", contact_id=engagement.bob, limit=50)

    assert len(timeline.events) == 50
    assert timeline.events[0].when == datetime.fromisoformat("2026-10-01T01:21:00Z")
    assert timeline.events[-2].url == "https://example.com/page/129"
    assert timeline.events[-1].title == "Link clicked: November news"  # Bob's click, 11-04
    assert timeline.earlier == 81 and timeline.totals.page_views == 130
    assert timeline.first_interaction is not None
    assert timeline.first_interaction.url == "https://example.com/page/0"
    # The newest page of page views and their oldest row: never the whole history.
    views = [c for c in dv.counters.calls("GET") if c.path.endswith("/dms_webpageviews")]
    assert len(views) == 2


def test_totals_beyond_what_dataverse_counts_are_shown_as_minimums(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded, dv: DataverseState
) -> None:
    seed_page_views(dv, engagement.quiet, 5001)

    timeline = engagement_timeline(sync_runtime, "acme", contact_id=engagement.quiet, limit=10)

    assert timeline.totals.page_views == 5000 and timeline.totals.at_least
    assert timeline.earlier == 4990 and len(timeline.events) == 10
    assert timeline.first_interaction is not None
    assert timeline.first_interaction.url == "https://example.com/page/0"
