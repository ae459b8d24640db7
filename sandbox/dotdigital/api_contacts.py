"""v3 contacts and imports.

    GET /contacts/v3                       seek paging: limit (1..5000, default 5000) + marker;
                                           ~modified / ~created (gte::<UTC>Z, not both),
                                           ~listId, data-fields, include
    GET /contacts/v3/{identifier}/{value}  email | contactId | mobileNumber
    PUT /contacts/v3/import                202 {importId}; 429 contacts:tooManyActiveImports
    GET /contacts/v3/import/{importId}     NotFinished ... Finished | a failure status

Contacts come in ascending id order; a marker is opaque (it encodes the last id served).
Documented error codes are used where they exist (`contacts:invalidFilter`,
`contacts:badJson`, `contacts:tooManyActiveImports`, `contacts:importNotFound`,
`contacts:contactNotFound`, `contacts:invalidId`); others are INFER:
`contacts:invalidParameter`, `contacts:invalidMarker`, `contacts:invalidContacts`,
`contacts:requestTooLarge` (413, a body over the 50 MB limit).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render
from sandbox.dotdigital.contacts import ContactRecord
from sandbox.dotdigital.imports import MERGE_OPTIONS
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import json_response, parse_date, v3_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

CONTACTS = "/contacts/v3"
CONTACT = "/contacts/v3/{identifier}/{value}"
IMPORT = "/contacts/v3/import"
IMPORT_STATUS = "/contacts/v3/import/{importId}"

DEFAULT_LIMIT = 5000
INCLUDES = ("channelProperties", "lists", "preferences", "consentRecords")
ALL_FIELDS = "[[ALL]]"
_SINCE = re.compile(r"^gte::(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z)$")


class BadFilter(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def encode_marker(after_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after_id}".encode()).decode()


def decode_marker(marker: str) -> int:
    try:
        text = base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    kind, _, value = text.partition(":")
    if kind != "after" or not value.isdigit():
        raise BadFilter("contacts:invalidMarker", f"The marker '{marker}' is not valid")
    return int(value)


def _since(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    match = _SINCE.match(raw)
    when = parse_date(match.group(1)) if match else None
    if when is None:
        raise BadFilter("contacts:invalidFilter", f"The filter value '{raw}' is invalid")
    return when


def _pipe(request: Request, name: str) -> list[str]:
    raw = request.query_params.get(name)
    return [part for part in (raw or "").split("|") if part]


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:

    def field_names(requested: list[str]) -> list[str] | None:
        if not requested:
            return None
        if requested == [ALL_FIELDS]:
            return [f.name for f in state.data_fields]
        names = []
        for name in requested:
            canonical = state.field_name(name)
            if canonical is None:
                raise BadFilter("contacts:invalidFilter", f"The data field '{name}' does not exist")
            names.append(canonical)
        return names

    def preference_names() -> dict[int, str]:
        names = {}
        for record in state.preferences:
            names[record.id] = record.public_name
            for child in record.children:
                names[child.id] = child.public_name
        return names

    async def list_contacts(request: Request) -> Response:
        try:
            limit_text = request.query_params.get("limit")
            if limit_text is not None and not limit_text.isdigit():
                raise BadFilter("contacts:invalidParameter", "limit must be a whole number")
            limit = int(limit_text) if limit_text is not None else DEFAULT_LIMIT
            if not 1 <= limit <= 5000:
                raise BadFilter("contacts:invalidParameter", "limit must be between 1 and 5000")
            modified = _since(request, "~modified")
            created = _since(request, "~created")
            if modified is not None and created is not None:
                raise BadFilter(
                    "contacts:invalidFilter", "~modified and ~created cannot be used together"
                )
            if "~segmentId" in request.query_params:
                raise BadFilter("contacts:invalidFilter", "The account has no segments")
            list_text = request.query_params.get("~listId")
            list_id = None
            if list_text is not None:
                if not list_text.isdigit():
                    raise BadFilter(
                        "contacts:invalidFilter", f"The list id '{list_text}' is invalid"
                    )
                list_id = int(list_text)
            include = _pipe(request, "include")
            unknown = [name for name in include if name not in INCLUDES]
            if unknown:
                raise BadFilter("contacts:invalidFilter", f"Cannot include {', '.join(unknown)}")
            marker = request.query_params.get("marker")
            after = decode_marker(marker) if marker else 0
            with state.lock:
                names = field_names(_pipe(request, "data-fields"))
                if list_id is not None and list_id not in state.store.books:
                    raise BadFilter("contacts:invalidFilter", f"The list {list_id} does not exist")
        except BadFilter as error:
            return v3_error(400, error.code, error.description)

        def wanted(contact: ContactRecord) -> bool:
            if modified is not None and contact.updated < modified:
                return False
            if created is not None and contact.created < created:
                return False
            return list_id is None or list_id in contact.books

        with state.lock:
            items: list[ContactRecord] = []
            more = False
            for contact in state.store.ids_after(after):
                if not wanted(contact):
                    continue
                if len(items) == limit:
                    more = True
                    break
                items.append(contact)
            prefs = preference_names() if "preferences" in include else None
            body_items = [
                render.v3_contact(
                    c, state.store, fields=names, include=include, preference_names=prefs
                )
                for c in items
            ]

        query = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        base = str(request.base_url).rstrip("/") + CONTACTS

        def link(marker_value: str) -> dict[str, str]:
            return {
                "marker": marker_value,
                "link": f"{base}?{urlencode([*query, ('marker', marker_value)])}",
            }

        links: dict[str, Any] = {
            "self": link(marker or encode_marker(0)),
            "first": link(encode_marker(0)),
        }
        if more and items:
            following = encode_marker(items[-1].id)
            if state.stuck_marker and marker:
                following = marker  # paging fault: the same marker again
            links["next"] = link(following)
        return json_response({"_links": links, "_items": body_items})

    async def get_contact(request: Request) -> Response:
        identifier = str(request.path_params["identifier"])
        value = str(request.path_params["value"])
        with state.lock:
            if identifier == "email":
                contact = state.store.by_email(value)
            elif identifier == "mobileNumber":
                contact = state.store.by_mobile(value.lstrip("+"))
            elif identifier == "contactId":
                if not value.isdigit():
                    return v3_error(
                        400,
                        "contacts:invalidId",
                        f"The id value '{value}' is invalid for the identifier 'contactId'",
                    )
                contact = state.store.contacts.get(int(value))
            else:
                return v3_error(
                    400, "contacts:invalidIdentifier", f"'{identifier}' is not an identifier"
                )
            if contact is None:
                return v3_error(
                    404,
                    "contacts:contactNotFound",
                    "The following contacts could not be found",
                    [(value, f"Not found using the identifier '{identifier}'")],
                )
            return json_response(
                render.v3_contact(
                    contact,
                    state.store,
                    fields=[f.name for f in state.data_fields],
                    include=INCLUDES,
                    preference_names=preference_names(),
                )
            )

    async def start_import(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > state.max_import_body_bytes:
            return v3_error(
                413,
                "contacts:requestTooLarge",
                f"The request body is larger than {state.max_import_body_bytes} bytes",
            )
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return v3_error(400, "contacts:badJson", "The request JSON is badly formed")
        if not isinstance(body, dict):
            return v3_error(400, "contacts:badJson", "The request JSON is badly formed")
        contacts = body.get("contacts")
        merge_option = body.get("mergeOption", "overwrite")
        if not isinstance(contacts, list) or not contacts:
            return v3_error(
                400, "contacts:invalidContacts", "contacts must be an array of at least 1 contact"
            )
        if merge_option not in MERGE_OPTIONS:
            return v3_error(
                400,
                "contacts:invalidContacts",
                "The request is invalid",
                [("mergeOption", f"must be one of {', '.join(MERGE_OPTIONS)}")],
            )
        with state.lock:
            if state.active_imports() >= state.max_active_imports:
                return v3_error(
                    429,
                    "contacts:tooManyActiveImports",
                    "Your import request cannot be accepted as too many imports are being "
                    "processed for you account. Please wait for an import to complete and then "
                    "resubmit.",
                )
            job = state.submit_import(contacts, str(merge_option))
        return json_response({"importId": job.id}, 202)

    async def import_status(request: Request) -> Response:
        import_id = str(request.path_params["importId"])
        with state.lock:
            job = state.imports.get(import_id.lower())
            if job is None or job.foreign:
                return v3_error(
                    404,
                    "contacts:importNotFound",
                    f"The import request '{import_id}' could not be found!",
                )
            return json_response(state.poll_import(job))

    return [
        Route(CONTACTS, endpoint(list_contacts), methods=["GET"]),
        Route(IMPORT, endpoint(start_import), methods=["PUT"]),
        Route(IMPORT_STATUS, endpoint(import_status), methods=["GET"]),
        Route(CONTACT, endpoint(get_contact), methods=["GET"]),
    ]
