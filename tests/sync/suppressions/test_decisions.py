"""SuppressionLists' pure decisions: which suppression of an email counts, the ids that keep a
replay from writing twice, what a note says for each resubscribe outcome, which CRM rows go out."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.accounts import EmailAccount
from shared.clients.dotdigital.contacts import ListContact
from shared.clients.dotdigital.suppression_writes import ResubscribeStatus
from shared.clients.dotdigital.suppressions import Suppression
from shared.sync.suppressions.lookup import Person
from shared.sync.suppressions.pull import latest_by_email
from shared.sync.suppressions.push import push_filter
from shared.sync.suppressions.resubscribe import outcome_text
from shared.sync.suppressions.writes import note_id, row_id

ACCOUNT = EmailAccount(account_id="acme", name="Acme newsletters", api_user="api@example.invalid")
WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _suppression(email: str, reason: str, day: int) -> Suppression:
    contact = ListContact(id=day, email=email, status=reason)
    return Suppression(contact=contact, date_removed=WHEN.replace(day=day), reason=reason)


def test_an_email_suppressed_twice_in_a_page_counts_once_with_its_latest_reason() -> None:
    page = [
        _suppression("Ada@Example.com", "Unsubscribed", 1),
        _suppression("ben@example.org", "HardBounced", 2),
        _suppression("ada@example.com", "IspComplained", 3),
    ]

    chosen = latest_by_email(page)

    assert sorted(chosen) == ["ada@example.com", "ben@example.org"]
    assert chosen["ada@example.com"].reason == "IspComplained"


def test_row_ids_are_the_same_for_a_replay_and_differ_for_another_suppression() -> None:
    ada = Person("contact", "3f1c4e5a-0000-4000-8000-000000000001", False)
    lead = Person("lead", "3f1c4e5a-0000-4000-8000-000000000001", False)

    first = row_id("acme", ada, WHEN)

    assert row_id("acme", ada, WHEN) == first
    assert len({first, row_id("acme", lead, WHEN), row_id("other", ada, WHEN),
                row_id("acme", ada, WHEN.replace(day=24))}) == 4  # fmt: skip
    added = note_id("acme", first, "contact", ada.record_id, "ContactAdded")
    assert added == note_id("acme", first, "contact", ada.record_id, "ContactAdded")
    assert added != note_id("acme", first, "contact", ada.record_id, "ContactChallenged")


def test_each_outcome_note_says_what_the_seed_asks_for() -> None:
    added = outcome_text(ResubscribeStatus.ADDED, email="ada@example.com", account=ACCOUNT,
                         when=WHEN)  # fmt: skip
    challenged = outcome_text(ResubscribeStatus.CHALLENGED, email="ada@example.com",
                              account=ACCOUNT, when=WHEN)  # fmt: skip
    isp = outcome_text(ResubscribeStatus.CANNOT_BE_UNSUPPRESSED, email="ada@example.com",
                       account=ACCOUNT, when=WHEN, contact_status="IspComplained")  # fmt: skip
    listed = outcome_text(ResubscribeStatus.CANNOT_BE_UNSUPPRESSED, email="ada@example.com",
                          account=ACCOUNT, when=WHEN, contact_status="HardBounced")  # fmt: skip

    assert added == (
        "ada@example.com was resubscribed on 2026-11-23 09:30 UTC to email account "
        "Acme newsletters."
    )
    assert "confirmation email was sent" in challenged and "Acme newsletters" in challenged
    assert isp.endswith("ISP complaint).")
    assert "Global Suppression List" in listed


def test_only_crm_users_rows_of_this_account_or_of_none_are_pushed() -> None:
    first = push_filter("o'neil", None)
    later = push_filter("acme", WHEN)

    assert first == (
        "(dms_source eq 2 or dms_source eq null) and "
        "(dms_emailaccountid eq 'o''neil' or dms_emailaccountid eq null)"
    )
    assert later.endswith(" and createdon ge 2026-11-23T09:30:00Z")
