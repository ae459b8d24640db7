"""Unit tests of `marketing_lists.book_pull`'s pure part: which address book members are looked
up, and what each becomes once its email is looked up (the writes run in the e2e tests)."""

from __future__ import annotations

import itertools

import pytest

from shared.clients.dataverse.lists import MarketingList, MemberType
from shared.clients.dotdigital.contacts import ListContact
from shared.sync.marketing_lists.book_pull import (
    SUPPRESSED_STATUSES,
    PageResult,
    PullPlan,
    Skipped,
    choose_record,
    decide,
    page_members,
)
from shared.sync.marketing_lists.pull_leads import lead_id_for, lead_template
from shared.sync.marketing_lists.pull_match import Lookup, Match

OPEN = Match("0f1e2d3c-4b5a-4697-8877-665544332211", True)
CLOSED = Match("1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9", False)
LOST = Match("2b3c4d5e-6f70-4182-93a4-b5c6d7e8f9a0", False)
LEADS = MarketingList(
    list_id="5d1c7a0e-0b7f-4b47-9a51-3f0d1c2e4a10", name="Webinar", dynamic=False,
    member_type=MemberType.LEAD, email_account_id="acme", email_activated=True,
)  # fmt: skip


def contact(number: int, email: str, status: str = "Subscribed") -> ListContact:
    return ListContact(id=number, email=email, status=status)


def test_members_are_keyed_by_their_email_without_case_or_surrounding_spaces() -> None:
    result = PageResult()
    ada = contact(1, "  Ada@Example.COM ")
    members = page_members([ada, contact(2, "ben@x.org")], result)
    assert members == {"ada@example.com": ada, "ben@x.org": contact(2, "ben@x.org")}
    assert result.skipped == {}


def test_an_email_twice_on_a_page_is_one_member_the_first() -> None:
    first, second = contact(1, "ada@example.com"), contact(2, "ADA@example.com ")
    assert page_members([first, second], PageResult()) == {"ada@example.com": first}


@pytest.mark.parametrize("status", sorted(SUPPRESSED_STATUSES))
def test_suppressed_members_are_counted_not_looked_up(status: str) -> None:
    result = PageResult()
    assert page_members([contact(1, "ada@example.com", status)], result) == {}
    assert result.skipped == {Skipped.SUPPRESSED: 1}


@pytest.mark.parametrize("status", ["Subscribed", "SoftBounced", "PendingOptIn", "Unknown"])
def test_members_still_mailed_are_looked_up(status: str) -> None:
    members = page_members([contact(1, "ada@example.com", status)], PageResult())
    assert list(members) == ["ada@example.com"]


def test_members_without_an_email_are_counted() -> None:
    result = PageResult()
    assert page_members([contact(1, ""), contact(2, "   ")], result) == {}
    assert result.skipped == {Skipped.NO_EMAIL: 2}


@pytest.mark.parametrize(
    ("matches", "only_active", "chosen"),
    [
        ([OPEN], True, OPEN),
        ([CLOSED, OPEN], True, OPEN),  # an active record first, wherever it was found
        ([CLOSED, OPEN], False, OPEN),
        ([CLOSED, LOST], True, None),  # "Sync only open leads and active contacts"
        ([CLOSED, LOST], False, CLOSED),  # the setting is off: the first one found
        ([], False, None),
        ([], True, None),
    ],
)
def test_the_record_added_for_an_email(
    matches: list[Match], only_active: bool, chosen: Match | None
) -> None:
    assert choose_record(matches, only_active) == chosen


def plan(*, only_active: bool = True, new_leads: bool = False) -> PullPlan:
    template = lead_template("Webinar", [], [], []) if new_leads else None
    return PullPlan(LEADS, "emailaddress1", only_active, template)


def lookup(**matches: list[Match]) -> Lookup:
    return Lookup(matches={f"{name}@example.com": found for name, found in matches.items()})


def test_a_known_email_adds_its_record() -> None:
    result = PageResult()
    assert decide(plan(), lookup(ada=[OPEN]), "ada@example.com", result) == OPEN.record_id
    assert result == PageResult()


def test_an_email_already_in_the_list_adds_nothing() -> None:
    result = PageResult()
    found = lookup(ada=[OPEN])
    found.in_list.add("ada@example.com")
    assert decide(plan(new_leads=True), found, "ada@example.com", result) is None
    assert result.already == 1


def test_an_email_whose_lookup_failed_is_a_failure_with_the_reason() -> None:
    result = PageResult()
    found = Lookup(failed={"ada@example.com": "HTTP 503"})
    assert decide(plan(new_leads=True), found, "ada@example.com", result) is None
    assert result.failures == {"ada@example.com": "HTTP 503"}


@pytest.mark.parametrize("new_leads", [False, True])
def test_an_email_known_only_as_inactive_follows_the_setting_and_never_makes_a_lead(
    new_leads: bool,
) -> None:
    found = lookup(ada=[CLOSED])
    skipped = PageResult()
    assert decide(plan(new_leads=new_leads), found, "ada@example.com", skipped) is None
    assert skipped.skipped == {Skipped.INACTIVE: 1}
    allowed = PageResult()
    chosen = decide(plan(only_active=False, new_leads=new_leads), found, "ada@example.com",
                    allowed)  # fmt: skip
    assert chosen == CLOSED.record_id and allowed == PageResult()


def test_an_unknown_email_becomes_a_lead_only_when_the_list_allows_it() -> None:
    skipped = PageResult()
    assert decide(plan(), lookup(), "new@example.com", skipped) is None
    assert skipped.skipped == {Skipped.UNKNOWN: 1}
    created = PageResult()
    new_id = decide(plan(new_leads=True), lookup(), "new@example.com", created)
    assert new_id == lead_id_for("new@example.com") and created == PageResult()


@pytest.mark.parametrize(
    ("outcome", "only_active", "new_leads"),
    list(
        itertools.product(
            ["unknown", "open", "closed", "both", "in_list", "failed"], [True, False], [True, False]
        )
    ),
)
def test_every_member_is_added_or_counted_exactly_once(
    outcome: str, only_active: bool, new_leads: bool
) -> None:
    email = "ada@example.com"
    found = Lookup()
    if outcome in ("open", "closed", "both", "in_list"):
        found.matches[email] = {"open": [OPEN], "closed": [CLOSED], "both": [CLOSED, OPEN],
                                "in_list": [OPEN]}[outcome]  # fmt: skip
    if outcome == "in_list":
        found.in_list.add(email)
    if outcome == "failed":
        found.failed[email] = "HTTP 500"
    result = PageResult()
    record_id = decide(plan(only_active=only_active, new_leads=new_leads), found, email, result)
    counted = result.already + len(result.failures) + sum(result.skipped.values())
    assert (record_id is not None) + counted == 1
    if record_id is not None:
        ids = [match.record_id for match in found.matches.get(email, [])]
        assert record_id in ids or (not ids and new_leads and record_id == lead_id_for(email))
        assert record_id != CLOSED.record_id or not only_active
