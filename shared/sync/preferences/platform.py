"""The preference sync's platform side: who opted in or out of what, and when; who is
suppressed; and the per-contact preference writes, a few at a time.

Reads, cheapest first:
- `opt-ins-since` per preference (1000 contacts a call): the opt-ins changed since the last run
  (`changed` marks them for the direction rule). On a first run, or when many records are new
  to the sync, the same call from `EPOCH` reads every opt-in of the account at once. The
  suppression list (paged) says who is suppressed whenever records without rows are read.
- `GET /v2/contacts/{email}/subscriptions` for the few emails whose whole state is needed: a
  record new to the sync, or a Dynamics edit about to be sent (its contact id, whether it is
  suppressed, and the platform's latest opt-in for the direction rule).

Calls per email go through a small thread pool (`CONCURRENCY`): Dotdigital's rate limits are
per account and counted per minute, so a handful in flight is what pays; the retry policy
handles the 429s the rest would meet. Each thread runs in a copy of the slice's context, so
the slice's deadline bounds its waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from shared import deadline
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.preferences import ContactOptIns, PreferenceChoice
from shared.errors import ApiError
from shared.sync.preferences.decide import PlatformValue

CONCURRENCY = 4
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Contact statuses that still receive email; any other status is a suppression.
RECEIVING = frozenset({"Subscribed", "PendingOptIn"})

T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class EmailState:
    """One email on the platform: its contact, and its opt-ins by preference id."""

    contact_id: int | None = None
    suppressed: bool = False
    opt_ins: dict[int, PlatformValue] = field(default_factory=dict)
    full: bool = False  # `opt_ins` is everything: a preference missing is not opted in
    exists: bool = True

    def value(self, preference_id: int) -> PlatformValue | None:
        found = self.opt_ins.get(preference_id)
        if found is None and self.full:
            return PlatformValue(False, None)
        return found


def _changed(modified: datetime | None, since: datetime | None) -> bool:
    return since is None or (modified is not None and modified >= since)


def _absorb(
    states: dict[str, EmailState], item: ContactOptIns, since: datetime | None, *, full: bool
) -> None:
    email = item.contact.email.lower()
    if not email:
        return
    state = states.setdefault(email, EmailState(full=full))
    state.contact_id = item.contact.id or state.contact_id
    state.suppressed = item.contact.status not in RECEIVING
    for opt_in in item.opt_ins:
        state.opt_ins[opt_in.preference_id] = PlatformValue(
            opt_in.opted_in, opt_in.modified, _changed(opt_in.modified, since)
        )


def read_changes(
    platform: DotdigitalClient,
    preference_ids: Iterable[int],
    read_from: datetime,
    since: datetime | None,
    *,
    full: bool,
) -> dict[str, EmailState]:
    """Opt-ins of these preferences changed since `read_from`, by lower-cased email (`since`
    decides which count as changes); with `full`, `read_from` is `EPOCH` and the states are
    complete."""
    states: dict[str, EmailState] = {}
    for preference_id in preference_ids:
        for page in platform.iter_opt_ins_since(preference_id, read_from).pages():
            for item in page.items:
                _absorb(states, item, since, full=full)
    return states


def read_suppressed(platform: DotdigitalClient) -> set[str]:
    return {s.email.lower() for s in platform.iter_suppressions_since(EPOCH) if s.email}


def in_parallel(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`work` on each item, `CONCURRENCY` at a time, results in order (see deadline.in_parallel)."""
    return deadline.in_parallel(work, items, CONCURRENCY)


def read_full(
    platform: DotdigitalClient, emails: Sequence[str], since: datetime | None
) -> dict[str, EmailState]:
    """Each email's whole state (one call each); `exists` False when there is no contact."""

    def one(email: str) -> tuple[str, ContactOptIns | None]:
        return email, platform.contact_subscriptions(email)

    states: dict[str, EmailState] = {}
    for email, found in in_parallel(one, list(emails)):
        if found is None:
            states[email] = EmailState(full=True, exists=False)
            continue
        _absorb(states, found, since, full=True)
        states.setdefault(email, EmailState(full=True, exists=False))
    return states


@dataclass(frozen=True)
class PlatformWrite:
    email: str
    contact_id: int
    choices: tuple[PreferenceChoice, ...]


def write_preferences(
    platform: DotdigitalClient, writes: Sequence[PlatformWrite]
) -> list[tuple[PlatformWrite, str]]:
    """Set each contact's preferences (one PUT each, a few at a time); the writes the platform
    refused, with its reason. Retriable failures raise (the run tries again later)."""

    def one(write: PlatformWrite) -> tuple[PlatformWrite, str]:
        try:
            platform.set_contact_preferences(write.contact_id, write.choices)
        except ApiError as error:
            if error.status is not None and 400 <= error.status < 500:
                return write, str(error)
            raise
        return write, ""

    return [(write, why) for write, why in in_parallel(one, writes) if why]
