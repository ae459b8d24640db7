"""The two ways of pushing Dataverse contacts into a Dotdigital address book that are measured.

- `efficient_push`: the product's paths end to end. `DataverseClient.iter_pages` (`$select`
  of the mapped columns, pages of 5000) streamed into `DotdigitalClient.run_contact_imports`
  (bulk v3 imports within `ImportLimits`, each contact's `lists` = the book). Results are
  consumed as they come; only counts are kept.
- `naive_push`: one call per record. The contact ids are listed (pages of 5000), then each
  contact is read with its own `GET contacts(<id>)` and added with its own
  `POST /v2/address-books/{id}/contacts`; same clients, transport and retry policy.

Both map with the product's default contact mappings (`shared.mappings.default_mappings`):
the EMAIL label names the email column, the other labels are Dotdigital data fields.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from bench.calls import CallLog
from bench.sandbox_process import Endpoints
from shared.clients import (
    DataverseClient,
    DotdigitalClient,
    ImportContact,
    ImportLimits,
    MsalTokenProvider,
    RetryPolicy,
)
from shared.clients.dataverse.odata import MAX_PAGE_SIZE
from shared.clients.dotdigital.routes import Route
from shared.clients.dotdigital.wire import int_field
from shared.mappings.model import EMAIL_LABEL, MappedEntity, default_mappings

ENTITY_SET = "contacts"
ID_COLUMN = "contactid"
_CONTACT_MAPPINGS = [
    m for m in default_mappings() if m.entity is MappedEntity.CONTACT and m.direction.to_platform
]
EMAIL_COLUMN = next(m.primary_field for m in _CONTACT_MAPPINGS if m.label == EMAIL_LABEL)
DATA_FIELDS: dict[str, str] = {
    m.label: m.primary_field for m in _CONTACT_MAPPINGS if m.label != EMAIL_LABEL
}
"""Dotdigital data field -> Dataverse contact column."""
SELECT = (ID_COLUMN, EMAIL_COLUMN, *DATA_FIELDS.values())

ADD_CONTACT_TO_ADDRESS_BOOK = Route("POST", "/v2/address-books/{addressBookId}/contacts")
"""v2 `ApiContact_AddContactToAddressBook`: one contact into one book (the naive client)."""

HTTP_TIMEOUT_SECONDS = 300.0  # a status poll of a 100k import applies it in the sandbox


def import_contact(record: Mapping[str, Any], address_book_id: int) -> ImportContact | None:
    """The import entry for a contact row (None without an email address)."""
    email = record.get(EMAIL_COLUMN)
    if not email:
        return None
    return ImportContact(
        email=email,
        data_fields={label: record.get(column) for label, column in DATA_FIELDS.items()},
        lists=(address_book_id,),
    )


@dataclass
class PushStats:
    records: int = 0  # Dataverse contacts read
    skipped: int = 0  # without an email address, not sent
    sent: int = 0  # contacts sent to Dotdigital
    imports: int = 0
    created: int = 0  # as the imports report them
    updated: int = 0
    failed: int = 0  # contacts an import reported as failed


@dataclass
class WaitLog:
    """The retry policy's sleep: status-poll intervals and retry backoffs, summed."""

    seconds: float = 0.0
    count: int = 0

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds
        self.count += 1
        time.sleep(seconds)


@contextmanager
def real_clients(
    endpoints: Endpoints, log: CallLog, retry: RetryPolicy
) -> Iterator[tuple[DataverseClient, DotdigitalClient]]:
    """The product's clients as production builds them (msal tokens, region discovery), on
    httpx clients whose event hooks count every request."""
    verify = ssl.create_default_context(cafile=endpoints.ca_path)
    hooks = log.event_hooks()
    with (
        httpx.Client(verify=verify, timeout=HTTP_TIMEOUT_SECONDS, event_hooks=hooks) as dv_http,
        httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, event_hooks=hooks) as dd_http,
    ):
        tokens = MsalTokenProvider(
            endpoints.tenant_id,
            endpoints.client_id,
            SecretStr(endpoints.client_secret),
            org_url=endpoints.dataverse_url,
            authority_host=endpoints.dataverse_url,
            http_client=dv_http,
        )
        dataverse = DataverseClient(endpoints.dataverse_url, tokens, http=dv_http, retry=retry)
        dotdigital = DotdigitalClient.connect(
            endpoints.dotdigital_url,
            endpoints.api_user,
            SecretStr(endpoints.api_password),
            http=dd_http,
            retry=retry,
        )
        yield dataverse, dotdigital


def efficient_push(
    dataverse: DataverseClient,
    dotdigital: DotdigitalClient,
    address_book_id: int,
    *,
    limits: ImportLimits,
    poll_interval_seconds: float,
) -> PushStats:
    stats = PushStats()

    def contacts() -> Iterator[ImportContact]:
        for page in dataverse.iter_pages(ENTITY_SET, SELECT, page_size=MAX_PAGE_SIZE):
            for record in page.records:
                stats.records += 1
                contact = import_contact(record, address_book_id)
                if contact is None:
                    stats.skipped += 1
                else:
                    stats.sent += 1
                    yield contact

    for result in dotdigital.run_contact_imports(
        contacts(), limits=limits, poll_interval_seconds=poll_interval_seconds
    ):
        if result.failed:
            raise RuntimeError(f"import {result.import_id} ended {result.status}")
        stats.imports += 1
        stats.created += result.summary.new_contacts
        stats.updated += result.summary.updated_contacts
        stats.failed += len(result.failures)
        # A result lists every contact its import created or updated (~1 KB each as models):
        # let it go before the next one is read, not when the loop variable is rebound.
        del result
    return stats


def add_contact_to_address_book(
    dotdigital: DotdigitalClient,
    address_book_id: int,
    email: str,
    data_fields: Mapping[str, Any],
) -> int:
    """One v2 call: the contact (created or updated) joins the book; returns its id."""
    body = {
        "email": email,
        "optInType": "Unknown",
        "emailType": "Html",
        "dataFields": [{"key": key, "value": value} for key, value in data_fields.items()],
    }
    response = dotdigital._call(
        ADD_CONTACT_TO_ADDRESS_BOOK, path={"addressBookId": address_book_id}, json=body
    )
    return int_field(response.json(), "id")


def naive_push(
    dataverse: DataverseClient, dotdigital: DotdigitalClient, address_book_id: int
) -> PushStats:
    stats = PushStats()
    ids = [
        str(record[ID_COLUMN])
        for page in dataverse.iter_pages(ENTITY_SET, [ID_COLUMN], page_size=MAX_PAGE_SIZE)
        for record in page.records
    ]
    columns = [c for c in SELECT if c != ID_COLUMN]
    for contact_id in ids:
        record = dataverse.retrieve(ENTITY_SET, contact_id, columns)
        if record is None:  # deleted since it was listed
            continue
        stats.records += 1
        email = record.get(EMAIL_COLUMN)
        if not email:
            stats.skipped += 1
            continue
        add_contact_to_address_book(
            dotdigital,
            address_book_id,
            str(email),
            {label: record.get(column) for label, column in DATA_FIELDS.items()},
        )
        stats.sent += 1
    return stats
