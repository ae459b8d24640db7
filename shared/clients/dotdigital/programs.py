"""Programs (automation journeys), v2: list, enrol contacts or address books, enrolment status.

`POST /v2/programs/enrolments` takes `{programId, contacts: [id], addressBooks: [id]}`; the docs
give at most 25 contacts and 10 address books per call and 20 calls an hour, so enrolling by
address book is the way for volume. An enrolment is not repeated after a lost answer.
Errors: 404 `ERROR_PROGRAM_NOT_FOUND`, 422 `ERROR_PROGRAM_NOT_ACTIVE`, 400 `ERROR_ENROLMENT_*`.
After a lost answer, `iter_enrolments(status)` (Processing, then Finished) tells whether it
was made. The account's users (`iter_account_users`) are read from an INFERRED endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.paging import Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import (
    ENROL_IN_PROGRAM,
    ENROLMENTS_BY_STATUS,
    GET_PROGRAM,
    LIST_ACCOUNT_USERS,
    LIST_PROGRAMS,
    PROGRAM_ENROLMENT,
)
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    field,
    int_field,
    parse_datetime,
    str_field,
)
from shared.errors import ApiError

ALLOWANCE_EXCEEDED = "ERROR_ENROLMENT_ALLOWANCE_EXCEEDED"
MAX_ENROLMENT_CONTACTS = 25
MAX_ENROLMENT_ADDRESS_BOOKS = 10
ENROLMENT_STATUSES = ("Processing", "Finished")


class EnrolmentLimitReached(ApiError):
    """The account's enrolment calls of the hour are spent (429, or the documented
    `ERROR_ENROLMENT_ALLOWANCE_EXCEEDED`): nothing was enrolled; try again in the next hour."""


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


class AccountUser(BaseModel):
    """A person who logs in to the platform (user mapping pairs one with a Dynamics user)."""

    model_config = ConfigDict(frozen=True)

    id: int
    email: str
    name: str


def account_user(item: Any) -> AccountUser:
    item = as_object(item, "an account user")
    names = (str(field(item, "firstName") or ""), str(field(item, "lastName") or ""))
    email = str_field(item, "email")
    return AccountUser(
        id=int_field(item, "id"), email=email, name=" ".join(n for n in names if n) or email
    )


class ProgramsApi(DotdigitalTransport):
    def iter_programs(self, *, select: int = 1000, skip: int = 0) -> Paged[Program, int]:
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            return as_list(
                self._get(LIST_PROGRAMS, params={"select": size, "skip": skip}), "programs"
            )

        return v2_paged(fetch, program, select=select, what="programs", skip=skip)

    def get_program(self, program_id: int) -> Program | None:
        """One program; None if the account has none with that id."""
        try:
            return program(self._get(GET_PROGRAM, path={"id": program_id}))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def iter_enrolments(self, status: str, *, select: int = 1000) -> Paged[ProgramEnrolment, int]:
        """The account's enrolments in one status (Processing or Finished)."""
        if status not in ENROLMENT_STATUSES:
            raise ValueError(f"an enrolment status is one of {ENROLMENT_STATUSES}")
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            params = {"select": size, "skip": skip}
            body = self._get(ENROLMENTS_BY_STATUS, path={"status": status}, params=params)
            return as_list(body, "program enrolments")

        return v2_paged(fetch, program_enrolment, select=select, what="program enrolments")

    def iter_account_users(self, *, select: int = 1000) -> Paged[AccountUser, int]:
        """The people who log in to the account (INFERRED endpoint: see routes.py)."""
        check_select(select)

        def fetch(size: int, skip: int) -> list[Any]:
            body = self._get(LIST_ACCOUNT_USERS, params={"select": size, "skip": skip})
            return as_list(body, "account users")

        return v2_paged(fetch, account_user, select=select, what="account users")

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
        try:
            response = self._call(
                ENROL_IN_PROGRAM,
                json={"programId": program_id, "contacts": contacts, "addressBooks": books},
                idempotent=False,
                wait_on_rate_limit=False,
            )
        except ApiError as error:
            if error.status == 429 or error.code == ALLOWANCE_EXCEEDED:
                raise EnrolmentLimitReached(
                    str(error), status=error.status, code=error.code
                ) from error
            raise
        return program_enrolment(response.json())

    def program_enrolment(self, enrolment_id: str) -> ProgramEnrolment:
        return program_enrolment(self._get(PROGRAM_ENROLMENT, path={"enrolmentId": enrolment_id}))
