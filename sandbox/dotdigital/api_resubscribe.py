"""v2 suppression writes: `PUT /v2/contacts/suppress-contacts` (`[{id}|{email}]` ->
`{suppressed, notFound}`), `POST /v2/contacts/unsubscribe` (`ApiContact` -> the suppression),
`POST /v2/contacts/resubscribe` and `/resubscribe-with-no-challenge`
(`{unsubscribedContact, preferredLocale?, returnUrlToUseIfChallenged?}` -> `{contact, status}`).
Request keys in any casing, as Dotdigital accepts them. Outcomes: `sandbox.dotdigital.resubscribe`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render, resubscribe
from sandbox.dotdigital.contacts import EMAIL, SuppressionRecord
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import json_response, read_json, v2_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

SUPPRESS_CONTACTS = "/v2/contacts/suppress-contacts"
UNSUBSCRIBE = "/v2/contacts/unsubscribe"
RESUBSCRIBE = "/v2/contacts/resubscribe"
RESUBSCRIBE_NO_CHALLENGE = "/v2/contacts/resubscribe-with-no-challenge"
INVALID_CODE = "ERROR_CONTACT_INVALID"
INVALID_CONTACT = f"The contact must be a JSON object with a valid email. {INVALID_CODE}"


def _lowered(item: Any) -> dict[str, Any] | None:
    return {str(k).lower(): v for k, v in item.items()} if isinstance(item, dict) else None


def _email_of(contact: Any) -> str | None:
    fields = _lowered(contact)
    email = None if fields is None else fields.get("email")
    return email if isinstance(email, str) and EMAIL.match(email) else None


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    store_lock = state.lock

    async def suppress_contacts(request: Request) -> Response:
        ok, body = await read_json(request)
        if not ok or not isinstance(body, list) or not body:
            return v2_error(400, f"A non-empty array of contacts is expected. {INVALID_CODE}")
        suppressed: list[dict[str, Any]] = []
        not_found: list[dict[str, Any]] = []
        with store_lock:
            store = state.store
            for item in body:
                fields = _lowered(item)
                if fields is None:
                    return v2_error(400, INVALID_CONTACT)
                key = fields.get("id") or fields.get("email")
                contact = None if key in (None, "") else store.by_id_or_email(str(key))
                if contact is None:
                    not_found.append(
                        {"id": int(fields.get("id") or 0), "email": fields.get("email")}
                    )
                    continue
                resubscribe.suppress(store, contact, state.now())
                suppressed.append({"id": contact.id, "email": contact.email})
        return json_response({"suppressed": suppressed, "notFound": not_found})

    async def unsubscribe(request: Request) -> Response:
        ok, body = await read_json(request)
        email = _email_of(body) if ok else None
        if email is None:
            return v2_error(400, INVALID_CONTACT)
        with store_lock:
            store = state.store
            contact = resubscribe.unsubscribe(store, email, state.now())
            record = next(
                (s for s in reversed(store.suppressions) if s.contact_id == contact.id),
                SuppressionRecord(contact.id, contact.updated, contact.status),
            )
            return json_response(render.suppression(record, contact))

    def resubscriber(challenge: bool) -> Any:
        async def handler(request: Request) -> Response:
            ok, body = await read_json(request)
            fields = _lowered(body) if ok else None
            email = None if fields is None else _email_of(fields.get("unsubscribedcontact"))
            if email is None:
                return v2_error(400, INVALID_CONTACT)
            with store_lock:
                outcome, contact = resubscribe.resubscribe(
                    state.store,
                    state.resubscriptions,
                    email,
                    challenge=challenge,
                    when=state.now(),
                )
                return json_response(
                    {"contact": render.v2_contact(contact, None), "status": outcome}
                )

        return handler

    return [
        Route(SUPPRESS_CONTACTS, endpoint(suppress_contacts), methods=["PUT"]),
        Route(UNSUBSCRIBE, endpoint(unsubscribe), methods=["POST"]),
        Route(RESUBSCRIBE, endpoint(resubscriber(True)), methods=["POST"]),
        Route(RESUBSCRIBE_NO_CHALLENGE, endpoint(resubscriber(False)), methods=["POST"]),
    ]
