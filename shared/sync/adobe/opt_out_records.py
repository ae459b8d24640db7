"""One contact and its profile under the account's opt-out mode: what each side should be
written, pair by pair (`opt_out.decide`), and the writes: one PATCH of the profile's changed
attributes, one update of the contact conditional on the ETag it was read with.

A contact changed between the read and its write (HTTP 412) is read again and decided again
once; a second 412 is left for the next run, which reads that change anyway."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.dataverse.client import DataverseClient
from shared.errors import (
    BadInputError,
    ConflictError,
    NotFoundError,
    PreconditionFailed,
    RetriableError,
    SyncError,
)
from shared.storage.adobe_config_model import CampaignOptOut, OptOutMode, OptOutPair
from shared.sync.adobe.opt_out import OptOutSide, campaign_modified, decide
from shared.sync.adobe.values import moment_of

CONTACTS = "contacts"
MODIFIED_ON = "modifiedon"


def contact_columns(pairs: Sequence[OptOutPair]) -> list[str]:
    """What the sync reads of a contact: its id, its record-level change time, the pairs'
    Boolean fields (sorted: a change of pairs is a change of the delta link's $select)."""
    return ["contactid", MODIFIED_ON, *sorted({p.dynamics_field for p in pairs})]


IDS_PER_QUERY = 50  # keeps each GET's URL near 2.5 KB


def read_contacts(
    dataverse: DataverseClient, ids: Sequence[str], pairs: Sequence[OptOutPair]
) -> dict[str, dict[str, Any]]:
    """The contacts with these ids (those that exist), by id: one filtered GET per 50 ids
    (`contactid eq <id> or ...`) rather than one GET per profile."""
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), IDS_PER_QUERY):
        group = unique[start : start + IDS_PER_QUERY]
        condition = " or ".join(f"contactid eq {uuid.UUID(i)}" for i in group)
        for row in dataverse.iter_records(
            CONTACTS, contact_columns(pairs), filter=condition, page_size=IDS_PER_QUERY
        ):
            found[str(row["contactid"]).lower()] = row
    return found


def contact_id(external_id: object) -> str | None:
    """The contactid a profile's externalId holds, None when it holds none."""
    try:
        return str(uuid.UUID(str(external_id)))
    except ValueError:
        return None


def _campaign_time(profile: Mapping[str, Any], attribute: CampaignOptOut) -> datetime | None:
    changed = campaign_modified(profile.get(attribute.last_modified))
    if changed is None and attribute is CampaignOptOut.BLACKLIST:
        changed = campaign_modified(profile.get("blackListAllLastModified"))
    return changed


def never_set_in_campaign(profile: Mapping[str, Any], pairs: Sequence[OptOutPair]) -> bool:
    """No mapped attribute of the profile was ever set in Campaign (every `*LastModified` is
    empty): a profile new from ingress, whose values are defaults, nobody's choice."""
    return all(_campaign_time(profile, p.campaign_attribute) is None for p in pairs)


@dataclass(frozen=True)
class Change:
    """What one contact <-> profile needs: values to PATCH into the profile, values to write
    to the contact (empty: nothing on that side)."""

    contact_id: str
    profile_href: str
    etag: str | None
    campaign: dict[str, bool] = field(default_factory=dict)
    dynamics: dict[str, bool] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return bool(self.campaign or self.dynamics)


def plan(
    mode: OptOutMode,
    pairs: Sequence[OptOutPair],
    contact: Mapping[str, Any],
    profile: Mapping[str, Any],
) -> Change:
    """Each pair decided by the mode's rule; Dynamics' time is the record's `modifiedon`,
    Campaign's the attribute's own `*LastModified`."""
    raw = contact.get(MODIFIED_ON)
    dynamics_at = moment_of(raw) if isinstance(raw, str) else None
    change = Change(
        contact_id=str(contact["contactid"]),
        profile_href=str(profile.get("href", "")),
        etag=contact.get("@odata.etag"),
    )
    for pair in pairs:
        attribute = pair.campaign_attribute
        ours = OptOutSide(bool(contact.get(pair.dynamics_field)), dynamics_at)
        theirs = OptOutSide(bool(profile.get(attribute.value)), _campaign_time(profile, attribute))
        decision = decide(mode, ours, theirs)
        if decision.write_campaign:
            change.campaign[attribute.value] = decision.opted_out
        if decision.write_dynamics:
            change.dynamics[pair.dynamics_field] = decision.opted_out
    return change


@dataclass
class Written:
    """What one record's writes did: the sides written, or why it failed (`retry`: a cause
    that can pass, so the change must be read again by the next run)."""

    campaign: bool = False
    dynamics: bool = False
    failure: str | None = None
    retry: bool = False


# Errors that concern this one record; anything else (credentials, a lost lease, a lost answer
# to a write) stops the run.
RECORD_ERRORS = (RetriableError, BadInputError, ConflictError, NotFoundError)


def write(
    change: Change,
    *,
    mode: OptOutMode,
    pairs: Sequence[OptOutPair],
    profile: Mapping[str, Any],
    adobe: AdobeCampaignClient,
    dataverse: DataverseClient,
) -> Written:
    written = Written()
    try:
        if change.campaign:
            adobe.update(change.profile_href, change.campaign)
            written.campaign = True
        if change.dynamics:
            written.dynamics = _write_contact(change, mode, pairs, profile, dataverse)
    except RECORD_ERRORS as error:
        written.failure = _reason(error)
        written.retry = isinstance(error, RetriableError | PreconditionFailed)
    return written


def _write_contact(
    change: Change,
    mode: OptOutMode,
    pairs: Sequence[OptOutPair],
    profile: Mapping[str, Any],
    dataverse: DataverseClient,
) -> bool:
    try:
        dataverse.update(CONTACTS, change.contact_id, change.dynamics, if_match=change.etag)
        return True
    except PreconditionFailed:
        pass  # changed since it was read: decide again on what it holds now
    again = dataverse.retrieve(CONTACTS, change.contact_id, contact_columns(pairs))
    if again is None:
        return False
    values = plan(mode, pairs, again, profile).dynamics
    if not values:
        return False
    dataverse.update(CONTACTS, change.contact_id, values, if_match=again.get("@odata.etag"))
    return True


def _reason(error: SyncError) -> str:
    return " ".join(str(error).split())[:160]
