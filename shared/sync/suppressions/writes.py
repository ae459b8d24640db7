"""The Dynamics writes of SuppressionLists as `$batch` requests, with deterministic ids.

A suppression row the connector creates has the id uuid5(account, record, suppression date):
it is created with `If-None-Match: *`, so a re-run or a redelivered message meets 412 on it
and never makes a second row. A note (annotation) about a resubscription has the id
uuid5(account, row, record, outcome) and is written by upsert: one note per outcome and record,
however often the run is replayed. Writes go through `execute_batch` (up to 1,000 requests a
call), which a dry run records instead of sending.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clients.dataverse.activities import note_bind_name, reference
from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path
from shared.errors import ApiError
from shared.sync.suppressions.lookup import DNBE, ROWS, Person

NAMESPACE = uuid.UUID("0b8f4c52-6a1e-4f3d-9c7a-2e5d8b1f4a96")
SOURCE_PLATFORM = 1  # dms_source "Email platform"


def row_id(account_id: str, person: Person, suppressed_on: datetime | None) -> str:
    when = suppressed_on.isoformat() if suppressed_on is not None else "undated"
    key = f"{account_id}|suppression|{person.entity}|{person.record_id}|{when}"
    return str(uuid.uuid5(NAMESPACE, key))


def note_id(account_id: str, row: str, entity: str, record_id: str, outcome: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{account_id}|note|{row}|{entity}|{record_id}|{outcome}"))


def create_row(
    row: str,
    person: Person,
    *,
    email: str,
    suppressed_on: datetime | None,
    reason: str,
    account_id: str,
) -> BatchRequest:
    body: dict[str, Any] = {
        "dms_email": email,
        "dms_suppressedon": suppressed_on.isoformat() if suppressed_on else None,
        "dms_reason": reason,
        "dms_emailaccountid": account_id,
        "dms_source": SOURCE_PLATFORM,
        f"dms_{person.entity}id@odata.bind": f"/{person.entity_set}({person.record_id})",
    }
    return BatchRequest("PATCH", entity_path(ROWS, row), body, headers={"If-None-Match": "*"})


def set_do_not_bulk_email(person: Person, value: bool) -> BatchRequest:
    return BatchRequest.update(person.entity_set, person.record_id, {DNBE: value})


def upsert_note(note: str, entity: str, record_id: str, *, subject: str, text: str) -> BatchRequest:
    body = {
        "subject": subject,
        "notetext": text,
        note_bind_name(entity): reference(entity, record_id),
    }
    return BatchRequest.upsert("annotations", note, body)


def delete_row(row: str) -> BatchRequest:
    return BatchRequest.delete(ROWS, row)


@dataclass
class Sent:
    """What one `$batch` of writes did, request by request (in the order given)."""

    results: list[BatchResult] = field(default_factory=list)

    def result(self, index: int) -> BatchResult:
        return self.results[index]


def send(dataverse: DataverseClient, requests: Sequence[BatchRequest]) -> Sent:
    if not requests:
        return Sent()
    return Sent(list(dataverse.execute_batch(list(requests)).results))


def refusal(error: ApiError) -> str | None:
    """The platform's refusal of one record (a 4xx other than throttling), to skip and count;
    None for anything else, which fails the run (or retries it)."""
    return str(error) if 400 <= error.status < 500 and error.status != 429 else None
