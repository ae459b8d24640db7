"""v2 marketing preferences: the account's preferences and categories, one contact's opt-ins,
and the opt-in changes since a date.

    GET /v2/preferences                            the tree: categories holding preferences
    GET /v2/contacts/{contactID}/preferences       the tree with isOptedIn (id or email)
    PUT /v2/contacts/{contactId}/preferences       [{id, isPreference, isOptedIn, preferences}]
    GET /v2/contacts/{contactEmail}/subscriptions  {contact, marketingPreferenceOptIns}
    GET /v2/contacts/with-preference/{preferenceId}/opt-ins-since/{sinceDate}?minContactId
                                                   [{contact, marketingPreferenceOptIns}]

Preference responses are JSON as the developer docs show (the generated spec types them as
untyped binary); the PUT answers `{"value": ""}` as in the docs' example. Opt-in items carry
`dateModifed`, spelled as the API spells it. `opt-ins-since` answers at most 1000 contacts,
ordered by id from `minContactId` (inclusive, INFER: the docs say "the minimum contact ID to
query on"), suppressed contacts included with their status, as the docs do not say otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render
from sandbox.dotdigital.contacts import ContactRecord
from sandbox.dotdigital.preference_optins import OptIn
from sandbox.dotdigital.programs import PreferenceRecord
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import (
    BadParameter,
    int_param,
    iso,
    json_response,
    parse_date,
    read_json,
    v2_error,
)

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

PREFERENCES = "/v2/preferences"
CONTACT_PREFERENCES = "/v2/contacts/{contactID}/preferences"
SET_CONTACT_PREFERENCES = "/v2/contacts/{contactId}/preferences"
CONTACT_SUBSCRIPTIONS = "/v2/contacts/{contactEmail}/subscriptions"
OPT_INS_SINCE = "/v2/contacts/with-preference/{preferenceId}/opt-ins-since/{sinceDate}"
OPT_INS_PAGE = 1000
CONTACT_NOT_FOUND = "Error: ERROR_CONTACT_NOT_FOUND"


def opt_in(item: OptIn) -> dict[str, Any]:
    """`ApiMarketingPreferenceOptIn` (addressBookId 0: not through an address book)."""
    return {
        "marketingPreferenceId": item.preference_id,
        "addressBookId": 0,
        "isOptedIn": item.opted_in,
        "dateModifed": iso(item.modified),
    }


def with_opt_ins(contact: ContactRecord, items: list[OptIn]) -> dict[str, Any]:
    """`ApiContactWithPreferenceOptIn`."""
    return {
        "contact": render.v2_contact(contact, None),
        "marketingPreferenceOptIns": [opt_in(i) for i in items],
    }


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:

    async def list_preferences(request: Request) -> Response:
        with state.lock:
            return json_response([render.preference(p, None) for p in state.preferences])

    async def contact_preferences(request: Request) -> Response:
        with state.lock:
            contact = state.store.by_id_or_email(str(request.path_params["contactID"]))
            if contact is None:
                return v2_error(404, CONTACT_NOT_FOUND)
            return json_response(
                [render.preference(p, contact.preferences) for p in state.preferences]
            )

    def choices(items: Any, into: dict[int, bool]) -> str | None:
        """Collect {preference id: opted in} from the PUT body; an error text if invalid."""
        if not isinstance(items, list):
            return "The preferences must be an array."
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                return "Each preference needs an id."
            record: PreferenceRecord | None = state.preference(item["id"])
            if record is None:
                return f"The preference {item['id']} does not exist."
            if record.is_preference:
                if not isinstance(item.get("isOptedIn"), bool):
                    return f"The preference {record.id} needs isOptedIn."
                into[record.id] = item["isOptedIn"]
            else:
                problem = choices(item.get("preferences") or [], into)
                if problem:
                    return problem
        return None

    async def set_contact_preferences(request: Request) -> Response:
        ok, body = await read_json(request)
        wanted: dict[int, bool] = {}
        with state.lock:
            problem = "The body is not JSON." if not ok else choices(body, wanted)
            if problem:
                return v2_error(400, f"{problem} ERROR_PARAMETER_INVALID")
            contact = state.store.by_id_or_email(str(request.path_params["contactId"]))
            if contact is None:
                return v2_error(404, CONTACT_NOT_FOUND)
            now = state.now()
            changed = False
            for preference_id, opted_in in wanted.items():
                changed |= state.preference_optins.change(contact, preference_id, opted_in, now)
            if changed:
                contact.updated = now
            return json_response({"value": ""})

    async def contact_subscriptions(request: Request) -> Response:
        with state.lock:
            contact = state.store.by_email(str(request.path_params["contactEmail"]))
            if contact is None:
                return v2_error(404, CONTACT_NOT_FOUND)
            items = sorted(state.preference_optins.of(contact).values(), key=_by_preference)
            return json_response(with_opt_ins(contact, items))

    async def opt_ins_since(request: Request) -> Response:
        since = parse_date(str(request.path_params["sinceDate"]))
        try:
            preference_id = int(str(request.path_params["preferenceId"]))
            min_contact = int_param(request, "minContactId", 0)
        except (ValueError, BadParameter):
            return v2_error(400, "The parameters are invalid. ERROR_PARAMETER_INVALID")
        if since is None:
            return v2_error(400, "The date is not a valid date. ERROR_PARAMETER_INVALID")
        with state.lock:
            record = state.preference(preference_id)
            if record is None or not record.is_preference:
                return v2_error(404, "Error: ERROR_PREFERENCE_NOT_FOUND")
            page: list[dict[str, Any]] = []
            for contact_id in sorted(state.preference_optins.contact_ids(state.store)):
                if contact_id < min_contact:
                    continue
                contact = state.store.contacts[contact_id]
                item = state.preference_optins.of(contact).get(preference_id)
                if item is None or item.modified < since:
                    continue
                page.append(with_opt_ins(contact, [item]))
                if len(page) == OPT_INS_PAGE:
                    break
            return json_response(page)

    return [
        Route(PREFERENCES, endpoint(list_preferences), methods=["GET"]),
        Route(CONTACT_PREFERENCES, endpoint(contact_preferences), methods=["GET"]),
        Route(SET_CONTACT_PREFERENCES, endpoint(set_contact_preferences), methods=["PUT"]),
        Route(CONTACT_SUBSCRIPTIONS, endpoint(contact_subscriptions), methods=["GET"]),
        Route(OPT_INS_SINCE, endpoint(opt_ins_since), methods=["GET"]),
    ]


def _by_preference(item: OptIn) -> int:
    return item.preference_id
