"""What a webhook event asks of the sync: targets per (account, sync type).

A target names work for one run of one sync type: a member whose synced columns changed, a
marketing list whose membership or email settings changed, or the whole type (a new email
suppression or a resubscribe request; a new Email Send, for its account's EmailSends).
Targets are computed from the event alone (the endpoint never calls Dataverse): which lists
hold a member, and whether a list belongs to an account, the targeted run finds out when it
reads Dataverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.dynamics_schema.connector import EMAIL_ACCOUNT, EMAIL_SUPPRESSION
from shared.dynamics_schema.engagement import EMAIL_SEND, PROGRAM_ENROLMENT
from shared.mappings.model import EMAIL_LABEL, DataMapping, MappedEntity
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent

MEMBER_TABLES = frozenset(entity.value for entity in MappedEntity)
LIST_TABLE = "list"
# The list membership relationships (N:N through listmember), one per member table.
MEMBERSHIP_RELATIONSHIPS = frozenset(f"list{table}_association" for table in MEMBER_TABLES)
# List columns that decide whether and how a list syncs.
LIST_COLUMNS = frozenset(
    {"dms_emailactivated", "dms_membershipaction", EMAIL_ACCOUNT.logical_name, "statecode"}
)
REQUEST_RESUBSCRIBE = "dms_requestresubscribe"
STATE_COLUMN = "statecode"
DEFAULT_EMAIL_COLUMN = "emailaddress1"


class TargetKind(StrEnum):
    MEMBER = "member"  # one contact, lead or account
    LIST = "list"  # one marketing list
    ALL = "all"  # the whole sync type


@dataclass(frozen=True)
class Target:
    sync_type: SyncType
    kind: TargetKind
    entity: str = ""  # the member's or list's table
    record_id: str = ""
    account_id: str = ""  # "" = every account that runs the sync type

    @property
    def key(self) -> str:
        """One target row per (sync type, kind, record): many events of a record, one row."""
        return f"{self.sync_type.value}|{self.kind.value}|{self.entity}|{self.record_id}"


def watched_columns(mappings: Iterable[DataMapping], entity: MappedEntity) -> frozenset[str]:
    """The member columns whose change is pushed: state, email and every mapped column (a
    linked mapping's lookup column). Also the Update steps' filtering attributes."""
    mappings = [m for m in mappings if m.entity is entity]
    email = next(
        (m.primary_field for m in mappings if m.label.upper() == EMAIL_LABEL),
        DEFAULT_EMAIL_COLUMN,
    )
    return frozenset({STATE_COLUMN, email, *(m.primary_field for m in mappings)})


def targets_of(event: ChangeEvent, watched: frozenset[str]) -> list[Target]:
    """The targets of one event; `watched` = the columns of `event.entity` that some account
    pushes (`watched_columns` over every account's mappings)."""
    if event.message in ("Associate", "Disassociate"):
        return _membership(event)
    if event.entity in MEMBER_TABLES:
        return _member(event, watched)
    if event.entity == LIST_TABLE:
        return _list(event)
    if event.entity == EMAIL_SUPPRESSION.logical_name:
        return _suppression(event)
    if event.entity == EMAIL_SEND.logical_name and event.message == "Create":
        return [_account_wide(SyncType.EMAIL_SENDS, event)]
    if event.entity == PROGRAM_ENROLMENT.logical_name and event.message == "Create":
        return [_account_wide(SyncType.PROGRAM_ENROLMENTS, event)]
    return []


def _member(event: ChangeEvent, watched: frozenset[str]) -> list[Target]:
    if event.message == "Create":
        return []  # not in any list yet: the Associate that adds it follows
    if event.message == "Update" and not (event.size_exceeded or event.changed & watched):
        return []
    # Update of a pushed column, or Delete: the lists holding it are synced again (their
    # snapshot tells what changed or left).
    target = Target(SyncType.MARKETING_LISTS_DATA_OUT, TargetKind.MEMBER, event.entity)
    return [_with_id(target, event.record_id)]


def _list(event: ChangeEvent) -> list[Target]:
    if event.message == "Create" and not event.attributes.get("dms_emailactivated"):
        return []
    if event.message == "Update" and not (event.size_exceeded or event.changed & LIST_COLUMNS):
        return []
    return [_list_target(event.record_id)]


def _membership(event: ChangeEvent) -> list[Target]:
    if event.size_exceeded and not event.relationship:
        # Over 256 KB (thousands of members at once) Dataverse drops the relationship and the
        # records: every list of the account is compared with its snapshot.
        return [Target(SyncType.MARKETING_LISTS_DATA_OUT, TargetKind.ALL)]
    if event.relationship.lower() not in MEMBERSHIP_RELATIONSHIPS:
        return []
    if event.entity == LIST_TABLE:
        return [_list_target(event.record_id)]
    return [_list_target(ref.id) for ref in event.related if ref.logical_name == LIST_TABLE]


def _suppression(event: ChangeEvent) -> list[Target]:
    if event.message == "Update" and not (
        event.size_exceeded or REQUEST_RESUBSCRIBE in event.changed
    ):
        return []
    if event.message == "Delete":
        return []
    return [_account_wide(SyncType.SUPPRESSION_LISTS, event)]


def _account_wide(sync_type: SyncType, event: ChangeEvent) -> Target:
    """The whole type, for the email account the row names (every account if it names none)."""
    column = EMAIL_ACCOUNT.logical_name
    account = event.attributes.get(column) or event.post_image.get(column)
    return Target(sync_type, TargetKind.ALL, account_id=account if isinstance(account, str) else "")


def _list_target(list_id: str) -> Target:
    return Target(SyncType.MARKETING_LISTS_DATA_OUT, TargetKind.LIST, LIST_TABLE, list_id.lower())


def _with_id(target: Target, record_id: str) -> Target:
    return Target(target.sync_type, target.kind, target.entity, record_id.lower())
