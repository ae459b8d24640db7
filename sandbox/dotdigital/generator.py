"""Deterministic account generator: the same `SeedSpec` gives the same account, byte for byte.

    seeded = state.populate(SeedSpec(contacts=100_000, address_books=(50_000, 5_000),
                                     suppressed=2_000, campaigns=3,
                                     activities_per_campaign=10_000))

Contacts get the reserved data fields (FIRSTNAME, LASTNAME, FULLNAME, GENDER, POSTCODE),
created and updated dates spread over `span_days` before the sandbox's now, and ids in one
ascending run. Address books draw their members from the contacts; suppressions (mixed
reasons), per-book unsubscribes, campaign activity and preference opt-ins are dated inside the
same span. Built for volume: 100,000 contacts take about a second.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox.dotdigital import surveys
from sandbox.dotdigital.campaigns import ActivityRecord

if TYPE_CHECKING:
    from sandbox.dotdigital.state import DotdigitalState

DAY = 86_400.0
FIRST_NAMES = (
    "Ada", "Ben", "Cara", "Dev", "Ema", "Finn", "Gia", "Hal", "Ines", "Jon",
    "Kai", "Lena", "Milo", "Nora", "Omar", "Pia", "Quin", "Rosa", "Sam", "Tara",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Baker", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hughes", "Ito", "Jones",
    "Khan", "Lopez", "Moore", "Nowak", "Okafor", "Patel", "Quinn", "Reid", "Smith", "Tanaka",
)  # fmt: skip
SUPPRESSION_REASONS = (
    ("Unsubscribed", 60),
    ("HardBounced", 20),
    ("IspComplained", 8),
    ("MailBlocked", 5),
    ("DomainSuppression", 4),
    ("DirectComplaint", 3),
)


@dataclass(frozen=True)
class SeedSpec:
    contacts: int = 0
    address_books: Sequence[int] = ()  # one book per size; members drawn from the contacts
    suppressed: int = 0  # account-wide suppressions, mixed reasons
    book_unsubscribes: int = 0  # unsubscribes from one book, spread over the books
    globally_suppressed: int = 0  # emails on the Global Suppression List (not contacts)
    campaigns: int = 0  # sent campaigns
    activities_per_campaign: int = 0
    programs: int = 0
    preference_categories: int = 0
    preferences_per_category: int = 0
    surveys: int = 0  # forms of four questions (sandbox.dotdigital.surveys.generate)
    responses_per_survey: int = 0
    span_days: float = 90.0
    seed: int | None = None  # default: the state's seed


@dataclass(frozen=True)
class Seeded:
    contact_ids: range
    address_book_ids: list[int] = field(default_factory=list)
    suppressed_ids: list[int] = field(default_factory=list)
    globally_suppressed: list[str] = field(default_factory=list)
    campaign_ids: list[int] = field(default_factory=list)
    program_ids: list[int] = field(default_factory=list)
    preference_ids: list[int] = field(default_factory=list)
    survey_ids: list[int] = field(default_factory=list)


def populate(state: DotdigitalState, spec: SeedSpec) -> Seeded:
    rng = random.Random(state.seed if spec.seed is None else spec.seed)
    with state.lock:
        store = state.store
        now = state.now()
        span = spec.span_days * DAY
        start = now - span
        first_id = None
        contacts = []
        genders = ("female", "male", "")
        draw = rng.random  # int(draw() * n) rather than randrange: same determinism, 5x faster
        for index in range(spec.contacts):
            first = FIRST_NAMES[int(draw() * 20)]
            last = LAST_NAMES[int(draw() * 20)]
            created = start + draw() * span
            updated = created + draw() * (now - created)
            contact = store.add_contact(
                f"{first}.{last}.{index}@example.com".lower(),
                when=float(int(created)),
                updated=float(int(updated)),
                opt_in_type="Double" if draw() < 0.3 else "Single",
                email_type="PlainText" if draw() < 0.1 else "Html",
                data={
                    "FIRSTNAME": first,
                    "LASTNAME": last,
                    "FULLNAME": f"{first} {last}",
                    "GENDER": genders[int(draw() * 3)],
                    "POSTCODE": f"AB{1 + int(draw() * 99)} {1 + int(draw() * 9)}CD",
                },
            )
            first_id = contact.id if first_id is None else first_id
            contacts.append(contact)
        ids = range(first_id or 0, (first_id or 0) + len(contacts))

        book_ids = []
        for number, size in enumerate(spec.address_books, start=1):
            if size > len(contacts):
                raise ValueError(f"address book {number} wants {size} of {len(contacts)} contacts")
            book = store.add_book(f"Generated list {number}", "Public" if number % 2 else "Private")
            for position in rng.sample(range(len(contacts)), size):
                contact = contacts[position]
                book.members[contact.id] = None
                contact.books[book.id] = "subscribed"
            book_ids.append(book.id)

        reasons = [r for r, _ in SUPPRESSION_REASONS]
        weights = [w for _, w in SUPPRESSION_REASONS]
        chosen = rng.sample(range(len(contacts)), min(spec.suppressed, len(contacts)))
        dated = []
        for position in chosen:
            contact = contacts[position]
            when = float(int(contact.created + rng.random() * (now - contact.created)))
            dated.append((when, contact.id, rng.choices(reasons, weights)[0]))
        dated.sort()
        for when, contact_id, reason in dated:
            store.suppress(store.contacts[contact_id], reason, when)

        members = {book_id: list(store.books[book_id].members) for book_id in book_ids}
        for _ in range(spec.book_unsubscribes if book_ids else 0):
            book = store.books[book_ids[int(draw() * len(book_ids))]]
            if not members[book.id]:
                continue
            contact = store.contacts[members[book.id][int(draw() * len(members[book.id]))]]
            when = float(int(contact.created + rng.random() * (now - contact.created)))
            updated = contact.updated
            store.unsubscribe_from_book(book, contact, when)
            contact.updated = max(updated, when)

        gsl = [f"blocked.{n}@example.net" for n in range(spec.globally_suppressed)]
        store.global_suppressions.update(gsl)

        campaign_ids = []
        subscribed = [c for c in contacts if c.status == "Subscribed"]
        for number in range(1, spec.campaigns + 1):
            campaign = state.add_campaign(f"Newsletter {number}", f"News {number}", status="Sent")
            sent = float(int(start + rng.random() * span * 0.5))
            campaign.date_sent = sent
            size = min(spec.activities_per_campaign, len(subscribed))
            for contact in rng.sample(subscribed, size):
                opens = (0, 0, 1, 1, 2, 3, 5)[int(draw() * 7)]
                activity = ActivityRecord(contact.id, contact.email or "", date_sent=sent)
                if opens:
                    first_open = sent + rng.random() * (now - sent) * 0.5
                    activity.num_opens = opens
                    activity.num_clicks = int(draw() * (opens + 1))
                    activity.num_page_views = int(draw() * (activity.num_clicks + 1))
                    activity.date_first_opened = float(int(first_open))
                    activity.date_last_opened = float(
                        int(first_open + rng.random() * (now - first_open))
                    )
                else:
                    roll = rng.random()
                    activity.hard_bounced = roll < 0.02
                    activity.soft_bounced = 0.02 <= roll < 0.05
                activity.unsubscribed = rng.random() < 0.01
                campaign.activities[contact.id] = activity
            campaign_ids.append(campaign.id)

        program_ids = [
            state.add_program(f"Journey {n}", status="Active" if n % 3 else "Draft").id
            for n in range(1, spec.programs + 1)
        ]

        preference_ids = []
        for number in range(1, spec.preference_categories + 1):
            category = state.add_preference_category(f"Interests {number}")
            for item in range(1, spec.preferences_per_category + 1):
                preference = state.add_preference(f"Topic {number}.{item}", category=category)
                preference_ids.append(preference.id)
        if preference_ids:
            for contact in contacts:
                if draw() < 0.3:
                    contact.preferences.add(preference_ids[int(draw() * len(preference_ids))])

        emails = [c.email for c in contacts if c.email]
        survey_ids = surveys.generate(state.surveys, rng, emails, surveys=spec.surveys,
                                      responses_per_survey=spec.responses_per_survey,
                                      start=start, now=now)  # fmt: skip

        return Seeded(
            contact_ids=ids,
            address_book_ids=book_ids,
            suppressed_ids=[contact_id for _, contact_id, _ in dated],
            globally_suppressed=gsl,
            campaign_ids=campaign_ids,
            program_ids=program_ids,
            preference_ids=preference_ids,
            survey_ids=survey_ids,
        )
