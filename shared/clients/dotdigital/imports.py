"""Bulk contact imports (v3): `PUT /contacts/v3/import`, then poll
`GET /contacts/v3/import/{importId}` until `Finished` or a failure status.

Body: `{mergeOption, contacts: [{matchIdentifier, identifiers, dataFields{}, channelProperties,
lists}]}` -> 202 `{importId}`. Limits (Dotdigital docs): a body of at most 50 MB and at most
25 imports in progress per account (more: 429 `contacts:tooManyActiveImports`); no count limit
per call. `null` clears a data field (with `overwrite`).

A large push is split into bodies within `ImportLimits`, serialised one contact at a time from
any iterable (the whole push is never held in memory), with at most `max_active` of our imports
in progress: when that many are out, the oldest is waited for before the next is submitted.
After an import fails (RejectedByWatchdog, Failed, ExceedsAllowedContactLimit) nothing more is
submitted; the ones already out are still waited for.

One module of about 450 lines on purpose: the body splitting, the in-flight window and the
status polling are one protocol whose limits interact (body size, active imports, polls).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.clients.dotdigital.errors import ImportFailedError, ImportStillRunning
from shared.clients.dotdigital.routes import IMPORT_CONTACTS, IMPORT_STATUS
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import as_object, field, int_field, str_field, utc_text
from shared.clients.retry import TransientHttpError
from shared.errors import ApiError, RetriesExhausted

MergeOption = Literal["overwrite", "overwriteIfNotEmpty", "overwriteIfEmpty"]
EmailChannelStatus = Literal["subscribed", "unsubscribed", "suppressed"]
OptInType = Literal["unknown", "single", "double", "verifiedDouble"]
EmailType = Literal["plainText", "html"]

MAX_IMPORT_BODY_BYTES = 50_000_000  # "50 MB": the smaller reading (decimal), to be safe
MAX_ACTIVE_IMPORTS = 25
MAX_LISTS_PER_CONTACT = 100
IN_PROGRESS = "NotFinished"
FINISHED = "Finished"


class ImportContact(BaseModel):
    """One contact of an import. `match_identifier` names the identifier that finds an
    existing contact (email, mobileNumber, contactId or a custom identifier)."""

    model_config = ConfigDict(frozen=True)

    email: str | None = None
    mobile_number: str | None = None
    contact_id: int | None = None
    custom_identifiers: dict[str, str] = {}
    match_identifier: str = "email"
    data_fields: dict[str, Any] = {}
    lists: tuple[int, ...] = Field(default=(), max_length=MAX_LISTS_PER_CONTACT)
    email_status: EmailChannelStatus | None = None
    opt_in_type: OptInType | None = None
    email_type: EmailType | None = None

    @model_validator(mode="after")
    def _match_identifier_has_a_value(self) -> ImportContact:
        self.identifiers()
        return self

    def identifiers(self) -> dict[str, Any]:
        identifiers: dict[str, Any] = dict(self.custom_identifiers)
        if self.email is not None:
            identifiers["email"] = self.email
        if self.mobile_number is not None:
            identifiers["mobileNumber"] = self.mobile_number
        if self.contact_id is not None:
            identifiers["contactId"] = self.contact_id
        if self.match_identifier not in identifiers:
            raise ValueError(
                f"the contact's match identifier {self.match_identifier!r} has no value"
            )
        return identifiers

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "matchIdentifier": self.match_identifier,
            "identifiers": self.identifiers(),
        }
        if self.data_fields:
            body["dataFields"] = dict(self.data_fields)
        email: dict[str, str] = {}
        if self.email_type is not None:
            email["emailType"] = self.email_type
        if self.opt_in_type is not None:
            email["optInType"] = self.opt_in_type
        if self.email_status is not None:
            email["status"] = self.email_status
        if email:
            body["channelProperties"] = {"email": email}
        if self.lists:
            body["lists"] = list(self.lists)
        return body


@dataclass(frozen=True)
class ImportLimits:
    max_body_bytes: int = MAX_IMPORT_BODY_BYTES
    max_contacts: int | None = None  # per import; Dotdigital sets none
    max_active: int = 5  # of the account's 25, leaving room for other integrations

    def __post_init__(self) -> None:
        if not 0 < self.max_body_bytes <= MAX_IMPORT_BODY_BYTES:
            raise ValueError(f"max_body_bytes must be 1..{MAX_IMPORT_BODY_BYTES}")
        if self.max_contacts is not None and self.max_contacts < 1:
            raise ValueError("max_contacts must be at least 1")
        if not 1 <= self.max_active <= MAX_ACTIVE_IMPORTS:
            raise ValueError(f"max_active must be 1..{MAX_ACTIVE_IMPORTS}")


class ImportSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    new_contacts: int = 0
    updated_contacts: int = 0
    globally_suppressed: int = 0
    invalid_entries: int = 0
    duplicate_identifiers: int = 0

    def __add__(self, other: ImportSummary) -> ImportSummary:
        return ImportSummary(
            new_contacts=self.new_contacts + other.new_contacts,
            updated_contacts=self.updated_contacts + other.updated_contacts,
            globally_suppressed=self.globally_suppressed + other.globally_suppressed,
            invalid_entries=self.invalid_entries + other.invalid_entries,
            duplicate_identifiers=self.duplicate_identifiers + other.duplicate_identifiers,
        )


class ContactReference(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: int
    identifiers: dict[str, str]


class FailureReason(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    description: str


class ImportFailure(BaseModel):
    """A contact the import could not (fully) apply, with the reasons."""

    model_config = ConfigDict(frozen=True)

    contact_id: int | None
    match_identifier: str
    identifiers: dict[str, str]
    reasons: tuple[FailureReason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)


class ImportResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    import_id: str
    status: str
    summary: ImportSummary = ImportSummary()
    created: tuple[ContactReference, ...] = ()
    updated: tuple[ContactReference, ...] = ()
    failures: tuple[ImportFailure, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status == FINISHED

    @property
    def failed(self) -> bool:
        """A final status other than Finished (RejectedByWatchdog, Failed, ...)."""
        return self.status not in (FINISHED, IN_PROGRESS)


class ImportReport(BaseModel):
    """Every import of one push, in the order they were submitted."""

    model_config = ConfigDict(frozen=True)

    results: tuple[ImportResult, ...] = ()

    @property
    def import_ids(self) -> tuple[str, ...]:
        return tuple(result.import_id for result in self.results)

    @property
    def summary(self) -> ImportSummary:
        total = ImportSummary()
        for result in self.results:
            total = total + result.summary
        return total

    @property
    def created(self) -> int:
        return sum(len(result.created) for result in self.results)

    @property
    def updated(self) -> int:
        return sum(len(result.updated) for result in self.results)

    @property
    def failures(self) -> tuple[ImportFailure, ...]:
        return tuple(failure for result in self.results for failure in result.failures)

    @property
    def failed_imports(self) -> tuple[ImportResult, ...]:
        return tuple(result for result in self.results if result.failed)


def _too_many_active(error: RetriesExhausted) -> bool:
    cause = error.__cause__
    return isinstance(cause, TransientHttpError) and cause.status == 429


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value for a data field")


def import_bodies(
    contacts: Iterable[ImportContact], merge_option: MergeOption, limits: ImportLimits
) -> Iterator[tuple[bytes, int]]:
    """(JSON body, contact count) per import, each within `limits`, built as `contacts` is
    read. A contact that cannot fit in any body raises ValueError."""
    prefix = b'{"mergeOption":' + json.dumps(merge_option).encode() + b',"contacts":['
    suffix = b"]}"
    empty = len(prefix) + len(suffix)
    items: list[bytes] = []
    size = empty
    for contact in contacts:
        data = json.dumps(
            contact.to_wire(), separators=(",", ":"), ensure_ascii=False, default=_json_default
        ).encode("utf-8")
        if empty + len(data) > limits.max_body_bytes:
            raise ValueError(
                f"one contact ({len(data)} bytes as JSON) is larger than an import body may be "
                f"({limits.max_body_bytes} bytes)"
            )
        full = limits.max_contacts is not None and len(items) >= limits.max_contacts
        if items and (full or size + 1 + len(data) > limits.max_body_bytes):
            yield prefix + b",".join(items) + suffix, len(items)
            items, size = [], empty
        size += len(data) + (1 if items else 0)
        items.append(data)
    if items:
        yield prefix + b",".join(items) + suffix, len(items)


def _references(items: Any) -> tuple[ContactReference, ...]:
    references = []
    for item in items or []:
        if isinstance(item, dict):
            identifiers = field(item, "identifiers")
            references.append(
                ContactReference(
                    contact_id=int_field(item, "contactId"),
                    identifiers=(
                        {str(k): str(v) for k, v in identifiers.items() if v is not None}
                        if isinstance(identifiers, dict)
                        else {}
                    ),
                )
            )
    return tuple(references)


def _failures(items: Any) -> tuple[ImportFailure, ...]:
    failures = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        identifiers = field(item, "identifiers")
        contact_id = field(item, "contactId")
        reasons = tuple(
            FailureReason(
                code=str_field(reason, "failureCode"), description=str_field(reason, "description")
            )
            for reason in field(item, "failures") or []
            if isinstance(reason, dict)
        )
        failures.append(
            ImportFailure(
                contact_id=contact_id if isinstance(contact_id, int) else None,
                match_identifier=str_field(item, "matchIdentifier"),
                identifiers=(
                    {str(k): str(v) for k, v in identifiers.items() if v is not None}
                    if isinstance(identifiers, dict)
                    else {}
                ),
                reasons=reasons,
            )
        )
    return tuple(failures)


def import_result(body: Any) -> ImportResult:
    body = as_object(body, "an import status")
    summary = field(body, "summary")
    summary = summary if isinstance(summary, dict) else {}
    return ImportResult(
        import_id=str_field(body, "importId"),
        status=str_field(body, "status"),
        summary=ImportSummary(
            new_contacts=int_field(summary, "newContacts"),
            updated_contacts=int_field(summary, "updatedContacts"),
            globally_suppressed=int_field(summary, "globallySuppressed"),
            invalid_entries=int_field(summary, "invalidEntries"),
            duplicate_identifiers=int_field(summary, "duplicateIdentifiers"),
        ),
        created=_references(field(body, "created")),
        updated=_references(field(body, "updated")),
        failures=_failures(field(body, "failures")),
    )


class ImportsApi(DotdigitalTransport):
    def start_contact_import(
        self, contacts: Iterable[ImportContact], *, merge_option: MergeOption = "overwrite"
    ) -> str:
        """Submit one import (it must fit one body) and return its import id."""
        bodies = list(import_bodies(contacts, merge_option, ImportLimits(max_active=1)))
        if len(bodies) != 1:
            raise ValueError("start_contact_import takes 1 body's worth; use import_contacts")
        return self._submit_import(bodies[0][0])

    def submit_contact_imports(
        self,
        contacts: Iterable[ImportContact],
        *,
        merge_option: MergeOption = "overwrite",
        limits: ImportLimits | None = None,
    ) -> list[str]:
        """Submit the contacts as imports within `limits` (one per body) without waiting for
        them; returns their ids in order, for the caller to checkpoint before it polls."""
        bodies = import_bodies(contacts, merge_option, limits or ImportLimits())
        return [self._submit_import(body) for body, _count in bodies]

    def _submit_import(self, body: bytes) -> str:
        response = self._call(IMPORT_CONTACTS, content=body)
        answer = as_object(response.json(), "an import receipt")
        import_id = str_field(answer, "importId")
        if not import_id:
            raise ApiError("Dotdigital accepted an import without an importId", status=202)
        return import_id

    def contact_import_status(self, import_id: str) -> ImportResult:
        """One poll: NotFinished, Finished (with summary, created, updated, failures) or a
        failure status. An unknown id is ApiError code contacts:importNotFound (404)."""
        return import_result(self._get(IMPORT_STATUS, path={"importId": import_id}))

    def wait_for_contact_import(
        self,
        import_id: str,
        *,
        poll_interval_seconds: float = 10.0,
        timeout_seconds: float = 1800.0,
    ) -> ImportResult:
        """Poll until the import is no longer NotFinished (waiting before each poll); returns
        the final result whatever its status. ImportStillRunning after `timeout_seconds`."""
        deadline = self._now() + timeout_seconds
        while True:
            self._sleep(poll_interval_seconds, f"Dotdigital: polling import {import_id}")
            result = self.contact_import_status(import_id)
            if result.status != IN_PROGRESS:
                return result
            if self._now() >= deadline:
                raise ImportStillRunning(
                    f"Dotdigital import {import_id} was still NotFinished after "
                    f"{timeout_seconds:g} s",
                    import_id=import_id,
                )

    def run_contact_imports(
        self,
        contacts: Iterable[ImportContact],
        *,
        merge_option: MergeOption = "overwrite",
        limits: ImportLimits | None = None,
        poll_interval_seconds: float = 10.0,
        timeout_seconds: float = 1800.0,
    ) -> Iterator[ImportResult]:
        """Push any number of contacts as imports within the limits; yields each import's
        final result as it is known (submission order). See the module doc."""
        limits = limits or ImportLimits()
        in_flight: deque[str] = deque()
        stopped = False

        def finish_oldest() -> ImportResult:
            return self.wait_for_contact_import(
                in_flight.popleft(),
                poll_interval_seconds=poll_interval_seconds,
                timeout_seconds=timeout_seconds,
            )

        for body, _count in import_bodies(contacts, merge_option, limits):
            while len(in_flight) >= limits.max_active:
                result = finish_oldest()
                stopped = stopped or result.failed
                yield result
            if stopped:
                break
            while True:
                try:
                    in_flight.append(self._submit_import(body))
                    break
                except RetriesExhausted as error:
                    # The account's 25 are taken (by other integrations as well): once backing
                    # off has not freed a slot, wait for one of ours to finish, then resubmit.
                    if not (_too_many_active(error) and in_flight):
                        raise
                    result = finish_oldest()
                    stopped = stopped or result.failed
                    yield result
            if stopped:
                break
        while in_flight:
            yield finish_oldest()

    def import_contacts(
        self,
        contacts: Iterable[ImportContact],
        *,
        merge_option: MergeOption = "overwrite",
        limits: ImportLimits | None = None,
        poll_interval_seconds: float = 10.0,
        timeout_seconds: float = 1800.0,
    ) -> ImportReport:
        """`run_contact_imports` to the end, as one report. Raises ImportFailedError (with the
        report) if an import ended in a failure status."""
        results = tuple(
            self.run_contact_imports(
                contacts,
                merge_option=merge_option,
                limits=limits,
                poll_interval_seconds=poll_interval_seconds,
                timeout_seconds=timeout_seconds,
            )
        )
        report = ImportReport(results=results)
        failed = report.failed_imports
        if failed:
            first = failed[0]
            raise ImportFailedError(
                f"Dotdigital import {first.import_id} ended {first.status}; "
                f"{len(results)} import(s) in this push, {len(failed)} failed",
                import_id=first.import_id,
                status=first.status,
                report=report,
            )
        return report
