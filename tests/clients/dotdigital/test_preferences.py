"""Preference opt-ins with their dates: one contact's subscriptions, and the contacts whose
opt-in of a preference changed since a date (paged by contact id)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.clock import ManualClock
from sandbox.dotdigital.state import DotdigitalState
from shared.clients.dotdigital import DotdigitalClient
from shared.clients.dotdigital.preferences import PreferenceChoice


def _at(clock: ManualClock) -> datetime:
    return datetime.fromtimestamp(clock.now(), UTC)


def test_a_contacts_subscriptions_carry_each_opt_in_and_opt_out_with_its_date(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    news = state.add_preference("News")
    offers = state.add_preference("Offers")
    contact = state.store.add_contact("ada@example.com", when=state.now())
    client.set_contact_preferences(
        contact.id, [PreferenceChoice(preference_id=news.id, opted_in=True)]
    )
    opted_at = _at(sandbox_clock)
    sandbox_clock.advance(60)
    client.set_contact_preferences(
        contact.id,
        [
            PreferenceChoice(preference_id=news.id, opted_in=True),  # unchanged: date stays
            PreferenceChoice(preference_id=offers.id, opted_in=False),
        ],
    )

    found = client.contact_subscriptions("ADA@example.com")

    assert found is not None and found.contact.id == contact.id
    by_id = {o.preference_id: o for o in found.opt_ins}
    assert by_id[news.id].opted_in is True and by_id[news.id].modified == opted_at
    assert by_id[offers.id].opted_in is False
    assert by_id[offers.id].modified == opted_at + timedelta(seconds=60)
    assert client.contact_subscriptions("nobody@example.com") is None


def test_opt_ins_since_pages_through_every_changed_contact_and_skips_older_changes(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    news = state.add_preference("News")
    old = state.store.add_contact("old@example.com", when=state.now())
    state.preference_optins.change(old, news.id, True, state.now())
    sandbox_clock.advance(3600)
    since = _at(sandbox_clock)
    changed = set()
    for number in range(1005):
        contact = state.store.add_contact(f"c{number}@example.com", when=state.now())
        state.preference_optins.change(contact, news.id, number % 2 == 0, state.now())
        changed.add(contact.id)

    pages = list(client.iter_opt_ins_since(news.id, since).pages())

    assert [len(p.items) for p in pages] == [1000, 5]
    seen = [item.contact.id for page in pages for item in page.items]
    assert sorted(seen) == sorted(changed)  # each once, the older change left out
    first = pages[0].items[0]
    assert first.opt_ins[0].preference_id == news.id and first.opt_ins[0].opted_in is True
    resumed = list(client.iter_opt_ins_since(news.id, since, min_contact_id=pages[0].resume or 0))
    assert [c.contact.id for c in resumed] == [c.contact.id for c in pages[1].items]
