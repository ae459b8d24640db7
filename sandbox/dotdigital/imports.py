"""v3 contact import jobs: accepted at once, finished later, applied when they finish.

A job answers `NotFinished` to its first `not_finished_polls` polls and until `seconds` of
sandbox time have passed since it was submitted; the poll after that applies it and answers
`Finished` with `summary`, `created`, `updated` and `failures`. A job is *active* (counts
towards the account's limit of 25) until then. `fail_with` makes a job end in that status
(RejectedByWatchdog, Failed, ExceedsAllowedContactLimit) without changing anything.

Per contact (documented failure codes; spelled as the docs' table, e.g. `InvalidEmail`):
- `InvalidMatchIdentifier`: matchIdentifier missing or not among the identifiers (no custom
  identifiers exist in the sandbox);
- `Duplicate`: the same match identifier value twice in one import (summary
  duplicateIdentifiers);
- `InvalidEmail`, `InvalidPhoneNumber`, `InvalidContactId` (summary invalidEntries);
- `GloballySuppressed`: the email is on the Global Suppression List (summary
  globallySuppressed).
Merge options: `overwrite` (a null clears a field), `overwriteIfNotEmpty` (empty incoming
values leave the field alone), `overwriteIfEmpty` (only empty fields are written).
Applied but reported (INFER, "associated data sets" that failed): unknown list ids
(`InvalidAddressBookIds`) and unknown data fields (`InvalidDataField`); the contact is still
created or updated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.dotdigital.contacts import E164, EMAIL, ContactRecord, ContactStore

MERGE_OPTIONS = ("overwrite", "overwriteIfNotEmpty", "overwriteIfEmpty")
FAILURE_STATUSES = ("RejectedByWatchdog", "Failed", "ExceedsAllowedContactLimit")
EMAIL_TYPES = {"plaintext": "PlainText", "html": "Html"}
OPT_IN_TYPES = {
    "unknown": "Unknown",
    "single": "Single",
    "double": "Double",
    "verifieddouble": "VerifiedDouble",
}

FieldLookup = Callable[[str], str | None]
"""A data field name (any casing) -> the account's spelling of it, or None."""


@dataclass(eq=False)
class ImportJob:
    id: str
    submitted: float
    contacts: list[Any]
    merge_option: str
    not_finished_polls: int
    ready_at: float
    fail_with: str | None = None
    polls: int = 0
    result: dict[str, Any] | None = None
    foreign: bool = False  # another integration's import, only occupying a slot

    def ready(self, now: float) -> bool:
        return self.polls >= self.not_finished_polls and now >= self.ready_at

    def active(self, now: float) -> bool:
        return self.result is None and not self.ready(now)


@dataclass
class _Outcome:
    created: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    globally_suppressed: int = 0
    invalid: int = 0
    duplicates: int = 0

    def fail(
        self, item: dict[str, Any], code: str, text: str, contact_id: int | None = None
    ) -> None:
        identifiers = item.get("identifiers")
        entry: dict[str, Any] = {
            "matchIdentifier": str(item.get("matchIdentifier") or "email"),
            "identifiers": {str(k): str(v) for k, v in (identifiers or {}).items() if v is not None}
            if isinstance(identifiers, dict)
            else {},
            "failures": [{"failureCode": code, "description": text}],
        }
        if contact_id is not None:
            entry["contactId"] = contact_id
        self.failures.append(entry)


def _reference(contact: ContactRecord) -> dict[str, Any]:
    identifiers: dict[str, str] = {}
    if contact.email is not None:
        identifiers["email"] = contact.email
    if contact.mobile is not None:
        identifiers["mobileNumber"] = contact.mobile
    return {"contactId": contact.id, "identifiers": identifiers}


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _merge(contact: ContactRecord, name: str, value: Any, merge_option: str) -> None:
    current = contact.data.get(name)
    if merge_option == "overwrite":
        if value is None:
            contact.data.pop(name, None)
        else:
            contact.data[name] = value
    elif merge_option == "overwriteIfNotEmpty":
        if not _empty(value):
            contact.data[name] = value
    elif _empty(current) and value is not None:  # overwriteIfEmpty
        contact.data[name] = value


def _find(store: ContactStore, match: str, value: Any) -> tuple[ContactRecord | None, str | None]:
    """(existing contact or None, failure code if the value cannot be used)."""
    if match == "email":
        if not isinstance(value, str) or not EMAIL.match(value):
            return None, "InvalidEmail"
        return store.by_email(value), None
    if match == "mobileNumber":
        if not isinstance(value, str) or not E164.match(value):
            return None, "InvalidPhoneNumber"
        return store.by_mobile(value.lstrip("+")), None
    if match == "contactId":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "InvalidContactId"
        contact = store.contacts.get(value)
        return contact, None if contact is not None else "InvalidContactId"
    return None, "InvalidMatchIdentifier"


def would_create(store: ContactStore, contacts: list[Any]) -> int:
    """How many contacts of an import match no existing contact."""
    count = 0
    for item in contacts:
        if isinstance(item, dict) and isinstance(item.get("identifiers"), dict):
            match = str(item.get("matchIdentifier"))
            existing, problem = _find(store, match, item["identifiers"].get(match))
            count += existing is None and problem is None
    return count


def apply_import(
    store: ContactStore, job: ImportJob, fields: FieldLookup, now: float
) -> dict[str, Any]:
    """Apply a job's contacts to the store and return its Finished status body."""
    outcome = _Outcome()
    seen: set[tuple[str, str]] = set()
    for item in job.contacts:
        if not isinstance(item, dict):
            outcome.invalid += 1
            outcome.fail({}, "InvalidContact", "The contact is not a JSON object")
            continue
        identifiers = item.get("identifiers")
        match = item.get("matchIdentifier")
        if (
            not isinstance(identifiers, dict)
            or not isinstance(match, str)
            or match not in identifiers
        ):
            outcome.invalid += 1
            outcome.fail(item, "InvalidMatchIdentifier", "The match identifier has no value")
            continue
        value = identifiers[match]
        key = (match, str(value).lower())
        if key in seen:
            outcome.duplicates += 1
            outcome.fail(item, "Duplicate", f"Duplicate identifier detected for {match} '{value}'")
            continue
        seen.add(key)
        existing, problem = _find(store, match, value)
        if problem is not None:
            outcome.invalid += 1
            outcome.fail(item, problem, f"Invalid value for '{match}'")
            continue
        email = identifiers.get("email")
        if email is not None and (not isinstance(email, str) or not EMAIL.match(email)):
            outcome.invalid += 1
            outcome.fail(item, "InvalidEmail", "Invalid value for 'email'")
            continue
        mobile = identifiers.get("mobileNumber")
        if mobile is not None and (not isinstance(mobile, str) or not E164.match(mobile)):
            outcome.invalid += 1
            outcome.fail(item, "InvalidPhoneNumber", "Invalid value for 'mobileNumber'")
            continue
        if isinstance(email, str) and email.lower() in store.global_suppressions:
            outcome.globally_suppressed += 1
            outcome.fail(item, "GloballySuppressed", f"'{email}' is globally suppressed")
            continue
        mobile = mobile.lstrip("+") if isinstance(mobile, str) else None
        if existing is None:
            if email is None and mobile is None:
                outcome.invalid += 1
                outcome.fail(item, "NoValidIdentifiers", "No valid identifiers were passed")
                continue
            contact = store.add_contact(email, mobile=mobile, when=now)
            outcome.new += 1
            outcome.created.append(_reference(contact))
        else:
            contact = existing
            if (
                isinstance(email, str)
                and email != contact.email
                and not store.change_email(contact, email)
            ):
                outcome.duplicates += 1
                outcome.fail(item, "Duplicate", f"'{email}' belongs to another contact", contact.id)
                continue
            if (
                mobile is not None
                and mobile != contact.mobile
                and not store.change_mobile(contact, mobile)
            ):
                outcome.duplicates += 1
                outcome.fail(
                    item, "Duplicate", f"'{mobile}' belongs to another contact", contact.id
                )
                continue
            outcome.changed += 1
            outcome.updated.append(_reference(contact))
        _apply_details(store, contact, item, job.merge_option, fields, now, outcome)
        contact.updated = now
    return {
        "importId": job.id,
        "status": "Finished",
        "summary": {
            "newContacts": outcome.new,
            "updatedContacts": outcome.changed,
            "globallySuppressed": outcome.globally_suppressed,
            "invalidEntries": outcome.invalid,
            "duplicateIdentifiers": outcome.duplicates,
        },
        "created": outcome.created,
        "updated": outcome.updated,
        "failures": outcome.failures,
    }


def _apply_details(
    store: ContactStore,
    contact: ContactRecord,
    item: dict[str, Any],
    merge_option: str,
    fields: FieldLookup,
    now: float,
    outcome: _Outcome,
) -> None:
    data = item.get("dataFields")
    if isinstance(data, dict):
        unknown = []
        for name, value in data.items():
            canonical = fields(str(name))
            if canonical is None:
                unknown.append(str(name))
            else:
                _merge(contact, canonical, value, merge_option)
        if unknown:
            outcome.fail(
                item, "InvalidDataField", f"Unknown data fields: {', '.join(unknown)}", contact.id
            )
    channels = item.get("channelProperties")
    email = channels.get("email") if isinstance(channels, dict) else None
    if isinstance(email, dict):
        kind = EMAIL_TYPES.get(str(email.get("emailType", "")).lower())
        if kind:
            contact.email_type = kind
        opt_in = OPT_IN_TYPES.get(str(email.get("optInType", "")).lower())
        if opt_in:
            contact.opt_in_type = opt_in
        status = email.get("status")
        if status == "unsubscribed" and contact.status != "Unsubscribed":
            store.suppress(contact, "Unsubscribed", now)
        elif status == "suppressed" and contact.status != "Suppressed":
            store.suppress(contact, "Suppressed", now)
    lists = item.get("lists")
    if isinstance(lists, list):
        bad = []
        for book_id in lists:
            book = store.books.get(book_id) if isinstance(book_id, int) else None
            if book is None or not book.writable:
                bad.append(str(book_id))
            else:
                store.join(book, contact, now)
        if bad:
            outcome.fail(
                item,
                "InvalidAddressBookIds",
                f"The list ids {', '.join(bad)} are unrecognised",
                contact.id,
            )
