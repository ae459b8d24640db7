"""Suppression writes (v2): suppress a batch of contacts, unsubscribe one, resubscribe one.

`PUT /v2/contacts/suppress-contacts` takes `[{email}]` and answers which were suppressed and
which are not in the account (`notFound`). `POST /v2/contacts/resubscribe` sends the contact a
confirmation email when the platform asks for one; `resubscribe-with-no-challenge` does not,
unless the account enforces double opt-in, when it answers `ContactChallenged` as well.
All three are safe to resend: suppressing or unsubscribing twice changes nothing, and Dotdigital
does not email a contact whose confirmation is still pending a second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.contacts import ListContact, list_contact
from shared.clients.dotdigital.routes import (
    RESUBSCRIBE,
    RESUBSCRIBE_NO_CHALLENGE,
    SUPPRESS_CONTACTS,
    UNSUBSCRIBE,
)
from shared.clients.dotdigital.suppressions import Suppression, suppression
from shared.clients.dotdigital.transport import DotdigitalTransport, json_body
from shared.clients.dotdigital.wire import as_list, as_object, field, str_field
from shared.errors import ApiError


class ResubscribeStatus(StrEnum):
    ADDED = "ContactAdded"
    CHALLENGED = "ContactChallenged"
    CANNOT_BE_UNSUPPRESSED = "ContactCannotBeUnsuppressed"


class ResubscribeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: ResubscribeStatus
    contact: ListContact | None  # as the platform has it now (its status says why not)


class SuppressOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    suppressed: tuple[str, ...]  # emails as the platform spells them
    not_found: tuple[str, ...]  # emails as they were sent


def _emails(items: Any, what: str) -> tuple[str, ...]:
    found = []
    for item in as_list(items if items is not None else [], what):
        email = field(item, "email") if isinstance(item, dict) else None
        if isinstance(email, str) and email:
            found.append(email)
    return tuple(found)


class SuppressionWritesApi(DotdigitalTransport):
    def suppress_contacts(self, emails: Sequence[str]) -> SuppressOutcome:
        """Suppress these emails account-wide (one call; the caller batches)."""
        if not emails:
            raise ValueError("no emails to suppress")
        response = self._call(SUPPRESS_CONTACTS, json=[{"email": email} for email in emails])
        body = as_object(json_body(response, SUPPRESS_CONTACTS), "a suppression answer")
        return SuppressOutcome(
            suppressed=_emails(field(body, "suppressed"), "suppressed contacts"),
            not_found=_emails(field(body, "notFound"), "contacts not found"),
        )

    def unsubscribe(self, email: str) -> Suppression:
        """Unsubscribe one email from the account; the suppression as Dotdigital records it."""
        response = self._call(UNSUBSCRIBE, json={"email": email})
        return suppression(json_body(response, UNSUBSCRIBE))

    def resubscribe(self, email: str, *, challenge: bool = True) -> ResubscribeResult:
        """Ask the platform to resubscribe `email`: with `challenge` (the product's way, seed
        002) through a confirmation email; without, where the account allows it."""
        route = RESUBSCRIBE if challenge else RESUBSCRIBE_NO_CHALLENGE
        response = self._call(route, json={"unsubscribedContact": {"email": email}})
        body = as_object(json_body(response, route), "a resubscribe answer")
        status = str_field(body, "status")
        try:
            outcome = ResubscribeStatus(status)
        except ValueError as error:
            raise ApiError(
                f"Dotdigital {route} answered an unknown resubscribe status '{status}'",
                status=response.status_code,
            ) from error
        contact = field(body, "contact")
        return ResubscribeResult(
            status=outcome, contact=list_contact(contact) if isinstance(contact, dict) else None
        )
