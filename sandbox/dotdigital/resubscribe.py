"""Suppression writes of the sandbox account: unsubscribe, suppress, and resubscribe with its
three outcomes (dotdigital.md §4 "Resubscribe", §6).

- `ContactAdded`: the contact leaves the suppression list (and `suppressed-since`), is
  `Subscribed` again and its address book memberships are subscribed again.
- `ContactChallenged`: a confirmation email is sent (recorded in `confirmation_emails`, once per
  pending contact: Dotdigital does not repeat it for a contact already challenged); the contact
  stays suppressed until `confirm()` (the contact clicked the link). `resubscribe-with-no-
  challenge` answers this too when the account enforces double opt-in.
- `ContactCannotBeUnsuppressed`: the email is on the Global Suppression List, or the contact's
  status is an ISP complaint or a domain suppression; nothing changes.

Not thread-safe by itself: callers hold `DotdigitalState.lock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.dotdigital.contacts import SUPPRESSED_STATUSES, ContactRecord, ContactStore

ADDED = "ContactAdded"
CHALLENGED = "ContactChallenged"
CANNOT = "ContactCannotBeUnsuppressed"
# Statuses a resubscribe cannot lift (besides the Global Suppression List).
UNLIFTABLE = frozenset({"IspComplained", "DomainSuppression"})
API_SUPPRESSION_REASON = "Suppressed"  # what PUT suppress-contacts records


@dataclass
class Resubscriptions:
    """Resubscribe state of the account: its regulatory setting and the pending challenges."""

    double_opt_in: bool = False  # no-challenge resubscribes are challenged too
    pending: set[int] = field(default_factory=set)  # contact ids sent a confirmation email
    confirmation_emails: list[str] = field(default_factory=list)  # every email sent, in order


def unsuppress(store: ContactStore, contact: ContactRecord, when: float) -> None:
    """The contact is subscribed again: off the suppression list, its lists subscribed."""
    store.suppressions = [s for s in store.suppressions if s.contact_id != contact.id]
    contact.status = "Subscribed"
    contact.updated = when
    for book_id, status in contact.books.items():
        if status == "suppressed":
            contact.books[book_id] = "subscribed"


def resubscribe(
    store: ContactStore,
    state: Resubscriptions,
    email: str,
    *,
    challenge: bool,
    when: float,
) -> tuple[str, ContactRecord]:
    """(outcome, contact) of a resubscribe request; an unknown email becomes a new contact."""
    contact = store.by_email(email)
    if contact is None:
        return ADDED, store.add_contact(email, when=when)
    if email.lower() in store.global_suppressions or contact.status in UNLIFTABLE:
        return CANNOT, contact
    if contact.status not in SUPPRESSED_STATUSES:
        return ADDED, contact  # subscribed already: nothing to lift
    if challenge or state.double_opt_in:
        if contact.id not in state.pending:
            state.pending.add(contact.id)
            state.confirmation_emails.append(contact.email or email)
        return CHALLENGED, contact
    unsuppress(store, contact, when)
    return ADDED, contact


def confirm(store: ContactStore, state: Resubscriptions, email: str, when: float) -> bool:
    """The contact clicked the confirmation link; False if no confirmation was pending."""
    contact = store.by_email(email)
    if contact is None or contact.id not in state.pending:
        return False
    state.pending.discard(contact.id)
    unsuppress(store, contact, when)
    contact.opt_in_type = "Double"
    return True


def unsubscribe(store: ContactStore, email: str, when: float) -> ContactRecord:
    """Unsubscribe from the account (an unknown email is added as an unsubscribed contact)."""
    contact = store.by_email(email) or store.add_contact(email, when=when)
    if contact.status not in SUPPRESSED_STATUSES:
        store.suppress(contact, "Unsubscribed", when)
    return contact


def suppress(store: ContactStore, contact: ContactRecord, when: float) -> None:
    """PUT suppress-contacts for one found contact (already suppressed: left as it is)."""
    if contact.status not in SUPPRESSED_STATUSES:
        store.suppress(contact, API_SUPPRESSION_REASON, when)
