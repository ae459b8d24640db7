"""Programs (automation journeys), v2: list, enrol contacts or address books, enrolment status.

`POST /v2/programs/enrolments` takes `{programId, contacts: [id], addressBooks: [id]}`; the docs
give at most 25 contacts and 10 address books per call and 20 calls an hour, so enrolling by
address book is the way for volume. An enrolment is not repeated after a lost answer.
Errors: 404 `ERROR_PROGRAM_NOT_FOUND`, 422 `ERROR_PROGRAM_NOT_ACTIVE`, 400 `ERROR_ENROLMENT_*`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.paging import Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import ENROL_IN_PROGRAM, LIST_PROGRAMS, PROGRAM_ENROLMENT
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    field,
    int_field,
    parse_datetime,
    str_field,
)

MAX_ENROLMENT_CONTACTS = 25
MAX_ENROLMENT_ADDRESS_BOOKS = 10


class Program(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    status: str  # Draft | Deactivated | Active | ReadOnly
    date_created: datetime | None = None


def program(item: Any) -> Program:
    item = as_object(item, "a program")
    return Program(
        id=int_field(item, "id"),
        name=str_field(item, "name"),
        status=str_field(item, "status"),
        date_created=parse_datetime(field(item, "dateCreated")),
    )


class ProgramEnrolment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    program_id: int
    status: str  # Processing | Finished
    date_created: datetime | None = None
    contacts: tuple[int, ...] = ()
    address_books: tuple[int, ...] = ()


def program_enrolment(item: Any) -> ProgramEnrolment:
    item = as_object(item, "a program enrolment")
    return ProgramEnrolment(
        id=str_field(item, "id"),
        program_id=int_field(item, "programId"),
        status=str_field(item, "status"),
        date_created=parse_datetime(field(item, "dateCreated")),
        contacts=tuple(int(i) for i in field(item, "contacts") or []),
        address_books=tuple(int(i) for i in field(item, "addressBooks") or []),
    )


class ProgramsApi(DotdigitalTransport):
    def iter_programs(self, *, select: int = 1000, skip: int = 0) -> Paged[Program, int]:
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            return as_list(
                self._get(LIST_PROGRAMS, params={"select": size, "skip": skip}), "programs"
            )

        return v2_paged(fetch, program, select=select, what="programs", skip=skip)

    def enrol_in_program(
        self,
        program_id: int,
        *,
        contact_ids: Sequence[int] = (),
        address_book_ids: Sequence[int] = (),
    ) -> ProgramEnrolment:
        contacts = [int(i) for i in contact_ids]
        books = [int(i) for i in address_book_ids]
        if not contacts and not books:
            raise ValueError("an enrolment needs contacts or address books")
        if len(contacts) > MAX_ENROLMENT_CONTACTS or len(books) > MAX_ENROLMENT_ADDRESS_BOOKS:
            raise ValueError(
                f"an enrolment takes at most {MAX_ENROLMENT_CONTACTS} contacts and "
                f"{MAX_ENROLMENT_ADDRESS_BOOKS} address books"
            )
        response = self._call(
            ENROL_IN_PROGRAM,
            json={"programId": program_id, "contacts": contacts, "addressBooks": books},
            idempotent=False,
        )
        return program_enrolment(response.json())

    def program_enrolment(self, enrolment_id: str) -> ProgramEnrolment:
        return program_enrolment(self._get(PROGRAM_ENROLMENT, path={"enrolmentId": enrolment_id}))
