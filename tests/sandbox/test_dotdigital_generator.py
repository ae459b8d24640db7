"""The Dotdigital sandbox's deterministic generator: same spec, same account; fast at volume."""

from __future__ import annotations

import hashlib
import time

from sandbox.clock import ManualClock
from sandbox.dotdigital import DotdigitalState, SeedSpec

SPEC = SeedSpec(
    contacts=2_000,
    address_books=(800, 300),
    suppressed=150,
    book_unsubscribes=40,
    globally_suppressed=5,
    campaigns=2,
    activities_per_campaign=500,
    programs=3,
    preference_categories=2,
    preferences_per_category=3,
    surveys=2,
    responses_per_survey=50,
)


def fingerprint(state: DotdigitalState) -> str:
    """A digest of everything the generator decides."""
    store = state.store
    parts: list[object] = []
    for c in store.contacts.values():
        parts.append(
            (c.id, c.email, c.status, c.opt_in_type, c.email_type, c.created, c.updated,
             sorted(c.data.items()), sorted(c.books.items()), sorted(c.preferences))
        )  # fmt: skip
    for book in store.books.values():
        parts.append(
            (
                book.id,
                book.name,
                list(book.members),
                [(u.contact_id, u.date) for u in book.unsubscribes],
            )
        )
    parts.append([(s.contact_id, s.date, s.reason) for s in store.suppressions])
    parts.append(sorted(store.global_suppressions))
    for campaign in state.campaigns.values():
        parts.append(
            (campaign.id, campaign.date_sent,
             [(a.contact_id, a.num_opens, a.num_clicks, a.date_last_opened, a.hard_bounced)
              for a in campaign.activities.values()])
        )  # fmt: skip
    parts.append([(p.id, p.name, p.status) for p in state.programs.values()])
    for survey in state.surveys.surveys.values():
        parts.append([(r.id, r.email, r.date_started, r.date_completed,
                       [(a.field_id, a.value) for a in r.answers])
                      for r in survey.responses.values()])  # fmt: skip
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def test_same_seed_same_account() -> None:
    clock = ManualClock(start=1_800_000_000)
    first, second = DotdigitalState(clock=clock.now), DotdigitalState(clock=clock.now)
    first.populate(SPEC)
    second.populate(SPEC)
    assert fingerprint(first) == fingerprint(second)

    other = DotdigitalState(clock=clock.now, seed=1)
    other.populate(SPEC)
    assert fingerprint(other) != fingerprint(first)

    first.reset()
    first.populate(SPEC)
    assert fingerprint(first) == fingerprint(second)


def test_the_account_has_what_the_spec_asks_for() -> None:
    clock = ManualClock(start=1_800_000_000)
    state = DotdigitalState(clock=clock.now)
    seeded = state.populate(SPEC)
    store = state.store

    assert store.count() == 2_000 == len(seeded.contact_ids)
    assert [len(store.books[b].members) for b in seeded.address_book_ids] == [800, 300]
    assert len(seeded.suppressed_ids) == len(store.suppressions) == 150
    assert sum(len(store.books[b].unsubscribes) for b in seeded.address_book_ids) <= 40
    assert len(store.global_suppressions) == 5
    assert [len(state.campaigns[c].activities) for c in seeded.campaign_ids] == [500, 500]
    assert len(seeded.program_ids) == 3 and len(seeded.preference_ids) == 6

    now = clock.now()
    span = SPEC.span_days * 86_400
    for contact in store.contacts.values():
        assert now - span <= contact.created <= contact.updated <= now
        assert contact.email and contact.email.endswith("@example.com")
        assert contact.data["FULLNAME"] == f"{contact.data['FIRSTNAME']} {contact.data['LASTNAME']}"
    dates = [s.date for s in store.suppressions]
    assert dates == sorted(dates)
    reasons = {s.reason for s in store.suppressions}
    assert {"Unsubscribed", "HardBounced"} <= reasons
    for suppression in store.suppressions:
        assert store.contacts[suppression.contact_id].status == suppression.reason


def test_100k_contacts_in_a_few_seconds() -> None:
    state = DotdigitalState()
    started = time.perf_counter()
    seeded = state.populate(
        SeedSpec(
            contacts=100_000,
            address_books=(50_000, 10_000),
            suppressed=2_000,
            campaigns=2,
            activities_per_campaign=20_000,
        )
    )
    elapsed = time.perf_counter() - started
    assert len(seeded.contact_ids) == 100_000
    assert elapsed < 6.0, f"generating 100,000 contacts took {elapsed:.1f} s"
