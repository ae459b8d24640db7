"""The preference sync's Dynamics side: the account's preference rows, its subscription rows,
the emails of the records ever listed, and the writes (one `$batch` per 1000 rows).

Row ids are uuid5 of the account and the natural key (the platform's preference id; the
record and the preference), so a replayed run writes the same rows again, never second ones.
Creates are upserts by id (PATCH); updates are conditional on the ETag read (`If-Match`): a
row a CRM user changed in between answers 412 and is decided again next run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import check_name, literal
from shared.clients.dataverse.paging import Record, collection_target
from shared.clients.dotdigital.preferences import Preference
from shared.dynamics_schema.connector import MARKETING_PREFERENCE, MARKETING_PREFERENCE_SUBSCRIPTION
from shared.sync.email_lookup import groups

PREFERENCE_SET = MARKETING_PREFERENCE.entity_set
SUBSCRIPTION_SET = MARKETING_PREFERENCE_SUBSCRIPTION.entity_set
ROW_NAMESPACE = uuid.UUID("0b7f4c52-9d0e-4c8e-a3b1-6f2d5e8a9c17")
IDS_PER_QUERY = 50  # record ids in one GET's `or` filter (a URL near 3 KB)
ENTITIES = ("contact", "lead", "account")
SUBSCRIPTION_COLUMNS = [
    "dms_marketingpreferencesubscriptionid",
    "_dms_marketingpreferenceid_value",
    "_dms_contactid_value",
    "_dms_leadid_value",
    "_dms_accountid_value",
    "dms_email",
    "dms_optedin",
    "dms_syncedoptedin",
    "modifiedon",
]
PREFERENCE_COLUMNS = [
    "dms_marketingpreferenceid",
    "dms_name",
    "dms_privatename",
    "dms_platformid",
    "dms_category",
    "dms_ispublic",
    "dms_iscategory",
]

RecordKey = tuple[str, str]  # (entity logical name, record id)


def preference_row_id(account_id: str, platform_id: int) -> str:
    return str(uuid.uuid5(ROW_NAMESPACE, f"{account_id}/preference/{platform_id}"))


def subscription_row_id(account_id: str, record: RecordKey, platform_id: int) -> str:
    entity, record_id = record
    key = f"{account_id}/{entity}/{record_id.lower()}/{platform_id}"
    return str(uuid.uuid5(ROW_NAMESPACE, key))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _account_filter(account_id: str) -> str:
    return f"dms_emailaccountid eq {literal(account_id)}"


# Preferences ---------------------------------------------------------------------------------


def preference_body(
    account_id: str, item: Preference, category: Preference | None
) -> dict[str, Any]:
    return {
        "dms_name": item.public_name or item.private_name or str(item.id),
        "dms_privatename": item.private_name,
        "dms_platformid": item.id,
        "dms_category": category.public_name if category is not None else None,
        "dms_ispublic": item.is_public,
        "dms_iscategory": not item.is_preference,
        "dms_emailaccountid": account_id,
    }


def read_preference_rows(dataverse: DataverseClient, account_id: str) -> dict[int, Record]:
    """The account's preference rows by platform id."""
    rows = dataverse.iter_records(
        PREFERENCE_SET, PREFERENCE_COLUMNS, filter=_account_filter(account_id)
    )
    return {int(r["dms_platformid"]): r for r in rows if r.get("dms_platformid") is not None}


def changed_columns(stored: Mapping[str, Any] | None, body: Mapping[str, Any]) -> dict[str, Any]:
    if stored is None:
        return dict(body)
    return {k: v for k, v in body.items() if k != "dms_emailaccountid" and stored.get(k) != v}


# Subscriptions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    row_id: str
    record: RecordKey
    preference_id: int  # the platform's
    email: str
    opted_in: bool | None
    synced: bool | None
    modified: datetime | None
    etag: str


def _record_of(row: Mapping[str, Any]) -> RecordKey | None:
    for entity in ENTITIES:
        value = row.get(f"_dms_{entity}id_value")
        if value:
            return entity, str(value).lower()
    return None


def iter_subscriptions(
    dataverse: DataverseClient, account_id: str, preference_ids: Mapping[str, int]
) -> Iterator[SubscriptionRow]:
    """The account's subscription rows; `preference_ids` maps a preference row id to the
    platform's id (rows of preferences the platform no longer has are left out)."""
    rows = dataverse.iter_records(
        SUBSCRIPTION_SET, SUBSCRIPTION_COLUMNS, filter=_account_filter(account_id)
    )
    for row in rows:
        record = _record_of(row)
        preference = preference_ids.get(str(row.get("_dms_marketingpreferenceid_value")).lower())
        if record is None or preference is None:
            continue
        yield SubscriptionRow(
            row_id=str(row["dms_marketingpreferencesubscriptionid"]).lower(),
            record=record,
            preference_id=preference,
            email=str(row.get("dms_email") or ""),
            opted_in=row.get("dms_optedin"),
            synced=row.get("dms_syncedoptedin"),
            modified=parse_utc(row.get("modifiedon")),
            etag=str(row.get("@odata.etag") or "*"),
        )


def subscription_body(
    account_id: str,
    record: RecordKey,
    preference: Preference,
    email: str,
    opted_in: bool,
    modified: datetime | None,
) -> dict[str, Any]:
    entity, record_id = record
    return {
        "dms_name": f"{email} - {preference.public_name or preference.private_name}"[:300],
        "dms_marketingpreferenceid@odata.bind": (
            f"/{PREFERENCE_SET}({preference_row_id(account_id, preference.id)})"
        ),
        f"dms_{entity}id@odata.bind": f"/{entity}s({record_id})",
        "dms_email": email,
        "dms_emailaccountid": account_id,
        "dms_optedin": opted_in,
        "dms_syncedoptedin": opted_in,
        "dms_lastmodified": utc_text(modified) if modified else None,
    }


# Records -------------------------------------------------------------------------------------


def read_emails(
    dataverse: DataverseClient, entity: str, record_ids: Iterable[str], email_column: str
) -> tuple[dict[str, str], int]:
    """The records' emails (lower-cased ids; records without an email left out) with one
    `$batch` of filtered GETs per 1000 groups, and how many groups could not be read."""
    key = check_name(f"{entity}id")
    check_name(email_column)
    batches = list(groups(sorted(record_ids), IDS_PER_QUERY))
    requests = [
        BatchRequest.get(
            collection_target(
                f"{entity}s",
                [key, email_column],
                filter=" or ".join(f"{key} eq {uuid.UUID(i)}" for i in group),
            )
        )
        for group in batches
    ]
    emails: dict[str, str] = {}
    failed = 0
    if not requests:
        return emails, failed
    for result in dataverse.execute_batch(requests).results:
        if not result.ok:
            failed += 1
            continue
        for row in dataverse.batch_rows(result, f"{entity}s"):
            email = str(row.get(email_column) or "").strip()
            if email and row.get(key):
                emails[str(row[key]).lower()] = email
    return emails, failed
