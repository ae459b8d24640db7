"""Suppress, unsubscribe and resubscribe (all three outcomes) through the client against the
sandbox; every exchange validated against Dotdigital's OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital.contacts import ContactRecord
from sandbox.dotdigital.state import DotdigitalState
from shared.clients.dotdigital import DotdigitalClient
from shared.clients.dotdigital.suppression_writes import ResubscribeStatus
from shared.errors import ApiError


def _contact(state: DotdigitalState, email: str, status: str = "Subscribed") -> ContactRecord:
    with state.lock:
        contact = state.store.add_contact(email, when=state.now())
        if status != "Subscribed":
            state.store.suppress(contact, status, state.now())
        return contact


def _suppressed_emails(client: DotdigitalClient) -> list[str]:
    return [s.email for s in client.iter_suppressions_since(datetime(2000, 1, 1, tzinfo=UTC))]


def test_suppress_contacts_suppresses_the_known_and_names_the_unknown(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    _contact(state, "ada@example.com")
    _contact(state, "ben@example.com", "HardBounced")

    outcome = client.suppress_contacts(["ADA@example.com", "ben@example.com", "zoe@example.org"])

    assert outcome.suppressed == ("ada@example.com", "ben@example.com")
    assert outcome.not_found == ("zoe@example.org",)
    assert state.store.by_email("ada@example.com").status == "Suppressed"  # type: ignore[union-attr]
    assert state.store.by_email("ben@example.com").status == "HardBounced"  # type: ignore[union-attr]
    assert _suppressed_emails(client) == ["ben@example.com", "ada@example.com"]


def test_unsubscribe_answers_the_suppression_and_adds_an_unknown_email(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    _contact(state, "ada@example.com")

    known = client.unsubscribe("ada@example.com")
    unknown = client.unsubscribe("new@example.com")

    assert (known.email, known.reason, known.contact.status) == (
        "ada@example.com", "Unsubscribed", "Unsubscribed"
    )  # fmt: skip
    assert unknown.reason == "Unsubscribed"
    assert _suppressed_emails(client) == ["ada@example.com", "new@example.com"]


def test_resubscribe_with_a_challenge_waits_for_the_contacts_confirmation(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    _contact(state, "ada@example.com", "Unsubscribed")

    first = client.resubscribe("ada@example.com")
    again = client.resubscribe("ada@example.com")

    assert first.status is again.status is ResubscribeStatus.CHALLENGED
    assert state.resubscriptions.confirmation_emails == ["ada@example.com"]  # sent once
    assert _suppressed_emails(client) == ["ada@example.com"]  # until the contact confirms
    sandbox_clock.advance(60)
    assert state.confirm_resubscription("ada@example.com")
    assert _suppressed_emails(client) == []
    assert state.store.by_email("ada@example.com").status == "Subscribed"  # type: ignore[union-attr]


def test_resubscribe_with_no_challenge_adds_the_contact_back(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    contact = _contact(state, "ada@example.com", "Unsubscribed")

    result = client.resubscribe("ada@example.com", challenge=False)

    assert result.status is ResubscribeStatus.ADDED
    assert result.contact is not None and result.contact.status == "Subscribed"
    assert contact.status == "Subscribed"
    assert _suppressed_emails(client) == []
    assert state.resubscriptions.confirmation_emails == []


def test_a_double_opt_in_account_challenges_even_without_a_challenge(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.resubscriptions.double_opt_in = True
    _contact(state, "ada@example.com", "Unsubscribed")

    result = client.resubscribe("ada@example.com", challenge=False)

    assert result.status is ResubscribeStatus.CHALLENGED
    assert state.resubscriptions.confirmation_emails == ["ada@example.com"]
    assert _suppressed_emails(client) == ["ada@example.com"]


@pytest.mark.parametrize(
    ("status", "global_list"),
    [("IspComplained", False), ("DomainSuppression", False), ("HardBounced", True)],
)
def test_some_suppressions_cannot_be_lifted(
    status: str, global_list: bool, client: DotdigitalClient, state: DotdigitalState
) -> None:
    _contact(state, "ada@example.com", status)
    if global_list:
        state.store.global_suppressions.add("ada@example.com")

    for challenge in (True, False):
        result = client.resubscribe("ada@example.com", challenge=challenge)
        assert result.status is ResubscribeStatus.CANNOT_BE_UNSUPPRESSED
        assert result.contact is not None and result.contact.status == status
    assert _suppressed_emails(client) == ["ada@example.com"]


def test_a_malformed_resubscribe_is_refused(client: DotdigitalClient) -> None:
    with pytest.raises(ApiError, match="ERROR_CONTACT_INVALID"):
        client.resubscribe("not-an-email")
