"""v2 programs (preferences: api_preferences).

    GET  /v2/programs                         select/skip
    GET  /v2/programs/{id}                    one program; 404 `ERROR_PROGRAM_NOT_FOUND`
    POST /v2/programs/enrolments              201 (Processing); 20 calls an hour, then 429
    GET  /v2/programs/enrolments/{enrolmentId} Processing, then Finished
    GET  /v2/programs/enrolments/{status}     Processing | Finished, select/skip (the spec
                                              declares both on one path: a status word is a
                                              status, anything else an enrolment id)

Enrolment limits (the docs): at most 25 contacts (400 `ERROR_ENROLMENT_INVALID`) and 10
address books (400 `ERROR_ADDRESSBOOK_TOOMANY`); 404 `Error: ERROR_PROGRAM_NOT_FOUND`; 422
`Error: ERROR_PROGRAM_NOT_ACTIVE`; 400 `ERROR_CONTACT_NOT_FOUND`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render
from sandbox.dotdigital.api_address_books import BOOK_NOT_FOUND
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import json_response, read_json, select_skip, v2_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

PROGRAMS = "/v2/programs"
PROGRAM = "/v2/programs/{id:int}"
ENROLMENT_STATUSES = ("Processing", "Finished")
ENROLMENTS = "/v2/programs/enrolments"
ENROLMENT = "/v2/programs/enrolments/{enrolmentId}"
MAX_CONTACTS = 25
MAX_BOOKS = 10


def _ints(value: object) -> list[int] | None:
    if value is None:
        return []
    if isinstance(value, list) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        return list(value)
    return None


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:

    async def list_programs(request: Request) -> Response:
        select, skip = select_skip(request)
        skip = 0 if state.ignore_skip else skip
        with state.lock:
            rows = list(state.programs.values())[skip : skip + select]
            return json_response([render.program(p) for p in rows])

    async def enrol(request: Request) -> Response:
        ok, body = await read_json(request)
        if not ok or not isinstance(body, dict):
            return v2_error(400, "The enrolment is not a JSON object. ERROR_ENROLMENT_INVALID")
        fields = {str(k).lower(): v for k, v in body.items()}
        program_id = fields.get("programid")
        contacts = _ints(fields.get("contacts"))
        books = _ints(fields.get("addressbooks"))
        if not isinstance(program_id, int) or contacts is None or books is None:
            return v2_error(400, "The enrolment is invalid. ERROR_ENROLMENT_INVALID")
        if not contacts and not books:
            return v2_error(400, "Enrol contacts or address books. ERROR_ENROLMENT_INVALID")
        if len(contacts) > MAX_CONTACTS:
            return v2_error(
                400, f"At most {MAX_CONTACTS} contacts per enrolment. ERROR_ENROLMENT_INVALID"
            )
        if len(books) > MAX_BOOKS:
            return v2_error(
                400, f"At most {MAX_BOOKS} address books per enrolment. ERROR_ADDRESSBOOK_TOOMANY"
            )
        with state.lock:
            spent = state.enrolment_allowed()
            if spent is not None:
                return v2_error(
                    429,
                    "Too many enrolment requests: 20 are allowed an hour.",
                    {
                        "x-ratelimit-limit": str(spent.limit),
                        "x-ratelimit-remaining": "0",
                        "x-ratelimit-reset": str(math.ceil(spent.reset_at())),
                        "x-ratelimit-scope": "operation",
                    },
                )
            program = state.programs.get(program_id)
            if program is None:
                return v2_error(404, "Error: ERROR_PROGRAM_NOT_FOUND")
            if program.status != "Active":
                return v2_error(422, "Error: ERROR_PROGRAM_NOT_ACTIVE")
            if any(contact_id not in state.store.contacts for contact_id in contacts):
                return v2_error(400, "A contact was not found. ERROR_CONTACT_NOT_FOUND")
            if any(book_id not in state.store.books for book_id in books):
                return v2_error(404, BOOK_NOT_FOUND)
            return json_response(render.enrolment(state.enrol(program, contacts, books)), 201)

    async def one_program(request: Request) -> Response:
        with state.lock:
            found = state.programs.get(int(request.path_params["id"]))
            if found is None:
                return v2_error(404, "Error: ERROR_PROGRAM_NOT_FOUND")
            return json_response(render.program(found))

    def by_status(request: Request, status: str) -> Response:
        select, skip = select_skip(request)
        with state.lock:
            rows = [e for e in state.enrolments.values() if e.status == status]
            return json_response([render.enrolment(e) for e in rows[skip : skip + select]])

    async def enrolment(request: Request) -> Response:
        key = str(request.path_params["enrolmentId"])
        status = next((s for s in ENROLMENT_STATUSES if s.lower() == key.lower()), None)
        if status is not None:
            return by_status(request, status)
        with state.lock:
            record = state.enrolments.get(key.lower())
            if record is None:
                return v2_error(404, "Error: ERROR_ENROLMENT_NOT_FOUND")
            body = render.enrolment(record)
            record.status = "Finished"
            return json_response(body)

    return [
        Route(PROGRAMS, endpoint(list_programs), methods=["GET"]),
        Route(PROGRAM, endpoint(one_program), methods=["GET"]),
        Route(ENROLMENTS, endpoint(enrol), methods=["POST"]),
        Route(ENROLMENT, endpoint(enrolment), methods=["GET"]),
    ]
