"""Seeds the Dotdigital sandbox for the preferences benchmark, inside the sandbox process: every
Dataverse contact with an email becomes a Dotdigital contact, the account gets `count`
preferences (two categories sharing them), each contact is opted in to each preference with
probability `OPT_IN_SHARE` and opted out of some others (dated in the past month), and
`SUPPRESSED_SHARE` of the contacts are unsubscribed. Deterministic (a fixed seed)."""

from __future__ import annotations

import random
from typing import Any

OPT_IN_SHARE = 0.3
OPT_OUT_SHARE = 0.1
SUPPRESSED_SHARE = 0.01
DAY = 86_400.0


def seed_preferences(running: Any, count: int) -> None:
    dd = running.dotdigital
    draw = random.Random(f"bench-preferences-{count}").random
    with dd.lock:
        categories = [dd.add_preference_category(f"Interests {n}") for n in (1, 2)]
        preferences = [
            dd.add_preference(f"Topic {n}", category=categories[n % 2], is_public=n % 5 != 0)
            for n in range(count)
        ]
        now = dd.now()
        for row in list(running.dataverse.table("contact").rows.values()):
            email = row.values.get("emailaddress1")
            if not email or dd.store.by_email(email) is not None:
                continue
            contact = dd.store.add_contact(email, when=now - 60 * DAY)
            if draw() < SUPPRESSED_SHARE:
                dd.store.suppress(contact, "Unsubscribed", now - 30 * DAY)
            for preference in preferences:
                roll = draw()
                if roll < OPT_IN_SHARE + OPT_OUT_SHARE:
                    when = float(int(now - draw() * 30 * DAY))
                    dd.preference_optins.change(contact, preference.id, True, when)
                    if roll >= OPT_IN_SHARE:  # opted in once, out since
                        dd.preference_optins.change(contact, preference.id, False, when + 60)
