"""Program Enrolment rows in Dynamics: the requests still to do, what each asks, and the status
writes (Enrolling before the call, Enrolled, Refused or Failed after it, Requested again with a
message when it waits)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from shared.clients.dataverse.client import DataverseClient
from shared.dynamics_schema.engagement import PROGRAM_ENROLMENT

ROWS = PROGRAM_ENROLMENT.entity_set
ROW_ID = PROGRAM_ENROLMENT.primary_id
COLUMNS = (
    ROW_ID, "dms_programid", "dms_programname", "_dms_contactid_value", "_dms_leadid_value",
    "dms_email", "dms_status", "createdon", "_createdby_value",
)  # fmt: skip
MESSAGE_LENGTH = 1000


class Status(IntEnum):
    """dms_status (shared/dynamics_schema/engagement.py ENROLMENT_STATUSES)."""

    REQUESTED = 1
    ENROLLING = 2
    ENROLLED = 3
    REFUSED = 4
    FAILED = 5


@dataclass
class Request:
    """One row to do: who asked to enrol whom in which program."""

    row_id: str
    program_id: int
    program_name: str
    status: Status
    email: str
    created_on: datetime | None
    created_by: str  # systemuserid, lower case ("" if Dynamics gave none)
    person: tuple[str, str] | None  # (entity set, id) of the contact or lead


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _request(row: dict[str, Any]) -> Request:
    contact, lead = row.get("_dms_contactid_value"), row.get("_dms_leadid_value")
    person = ("contacts", str(contact)) if contact else ("leads", str(lead)) if lead else None
    status = row.get("dms_status")
    return Request(
        row_id=str(row[ROW_ID]).lower(),
        program_id=int(row.get("dms_programid") or 0),
        program_name=str(row.get("dms_programname") or ""),
        status=Status.ENROLLING if status == Status.ENROLLING else Status.REQUESTED,
        email=str(row.get("dms_email") or "").strip().lower(),
        created_on=_when(row.get("createdon")),
        created_by=str(row.get("_createdby_value") or "").lower(),
        person=person,
    )


def to_do(dataverse: DataverseClient, account_id: str) -> list[Request]:
    """The account's rows still Requested (a row created without a status is one) or left
    Enrolling by a call whose outcome is not known yet, oldest first."""
    quoted = account_id.replace("'", "''")
    pending = (
        f"dms_status eq {Status.REQUESTED.value} or dms_status eq {Status.ENROLLING.value} "
        "or dms_status eq null"
    )
    query = f"dms_emailaccountid eq '{quoted}' and ({pending})"
    requests = [_request(row) for row in dataverse.iter_records(ROWS, COLUMNS, filter=query)]
    return sorted(requests, key=lambda r: (r.created_on is None, r.created_on, r.row_id))


def fill_emails(dataverse: DataverseClient, requests: Iterable[Request]) -> None:
    """A row without its own email takes its contact's or lead's."""
    for request in requests:
        if request.email or request.person is None:
            continue
        entity_set, person_id = request.person
        record = dataverse.retrieve(entity_set, person_id, ["emailaddress1"])
        if record is not None:
            request.email = str(record.get("emailaddress1") or "").strip().lower()


class RowWriter:
    """The status writes of one run (each a PATCH of the row, never a create)."""

    def __init__(self, dataverse: DataverseClient) -> None:
        self.dataverse = dataverse

    def _write(self, row_ids: Iterable[str], values: dict[str, Any]) -> None:
        for row_id in row_ids:
            self.dataverse.update(ROWS, row_id, values)

    def enrolling(self, row_ids: Iterable[str]) -> None:
        self._write(row_ids, {"dms_status": Status.ENROLLING.value, "dms_message": None})

    def enrolled(self, row_ids: Iterable[str], enrolment_id: str, when: datetime) -> None:
        self._write(
            row_ids,
            {"dms_status": Status.ENROLLED.value, "dms_platformenrolmentid": enrolment_id,
             "dms_enrolledon": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "dms_message": None},
        )  # fmt: skip

    def refused(self, row_ids: Iterable[str], message: str) -> None:
        self._write(row_ids, {"dms_status": Status.REFUSED.value,
                              "dms_message": message[:MESSAGE_LENGTH]})  # fmt: skip

    def failed(self, row_ids: Iterable[str], message: str) -> None:
        self._write(row_ids, {"dms_status": Status.FAILED.value,
                              "dms_message": message[:MESSAGE_LENGTH]})  # fmt: skip

    def waiting(self, row_ids: Iterable[str], message: str) -> None:
        self._write(row_ids, {"dms_status": Status.REQUESTED.value,
                              "dms_message": message[:MESSAGE_LENGTH]})  # fmt: skip
