"""Sync audit vocabulary: statuses, counts and the product's messages (seed wording)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from shared.sync_types import SyncType


class AuditStatus(StrEnum):
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    COMPLETED_WITH_ERRORS = "Completed With Errors"


class Messages:
    """Audit messages as the product documents them; `{0}` is filled in where the seed has it."""

    DATAFIELD_INVALID = "ERROR_DATAFIELD_INVALID - Failed to sync dataLabel {0} to Dotdigital"
    NON_UNIQUE_DATAFIELD = "ERROR_NON_UNIQUE_DATAFIELD - Failed to sync dataLabel {0} to Dotdigital"
    DATAFIELD_LIMIT = (
        "ERROR_DATAFIELD_LIMITEXCEEDED - Failed to sync dataLabel {0} to Dotdigital: the account "
        "already has {1} custom data fields, the most it can have"
    )
    NO_NEW_OBJECTS = "No new objects to sync"
    LIST_ACCOUNT_MISMATCH = "Marketing List EmailAccount Id does not match CrmEmailAccountId"
    LIST_NULL = "CrmMarketingList is null. Sync aborted."
    DATA_LABELS_FAILED = "Marketing list sync didn't start as Data Label sync failed"
    FEATURE_NOT_ACTIVATED = "Feature is not activated in Dotdigital"
    CAMPAIGN_NULL = "The CrmEmailCampaign was null. Sync aborted."
    DATASETS_FAILED = "{0} have failed to sync for this Email Campaign."
    INTERNAL = "Internal server error"


class Counts(BaseModel):
    read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            read=self.read + other.read,
            created=self.created + other.created,
            updated=self.updated + other.updated,
            deleted=self.deleted + other.deleted,
            failed=self.failed + other.failed,
        )


class AuditRecord(BaseModel):
    account_id: str
    row_key: str
    run_id: str
    sync_type: SyncType | str  # str only for rows about messages that named no valid type
    trigger: str
    status: AuditStatus
    started: datetime
    finished: datetime | None = None
    message: str = ""
    counts: Counts = Counts()


class AuditDetail(BaseModel):
    item: str
    status: AuditStatus
    message: str = ""
    counts: Counts = Counts()
    # What makes the row one item's when names can repeat (a campaign's or form's platform id);
    # empty: the item's name. A second detail with the same key in a run replaces the first.
    key: str = ""


# A list sync's detail item names its list; lists that share a name are told apart by their id.
_LIST_ITEM_WITH_ID = re.compile(r"^(.*) \(([0-9a-fA-F-]{36})\)$")


def list_item_with_id(name: str, list_id: str) -> str:
    """The detail item of a list whose name another list of the run shares."""
    return f"{name} ({list_id})"


def split_list_item(item: str) -> tuple[str, str | None]:
    """(the list's name, its id when the item carries one) of a list sync's detail item."""
    found = _LIST_ITEM_WITH_ID.match(item)
    return (found.group(1), found.group(2).lower()) if found else (item, None)
