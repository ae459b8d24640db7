"""What a sync type declares as data: its audit name, platforms, direction and prerequisites.

The runner reads the declaration; a type's code never checks its own preconditions. A
prerequisite is checked once, when a run starts (not on each continuation slice).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from shared.accounts import EmailAccount, Platform
from shared.audit import AuditStatus
from shared.sync_types import SyncType

if TYPE_CHECKING:
    from shared.runtime import Runtime


class Direction(StrEnum):
    TO_PLATFORM = "Dynamics to platform"
    TO_DYNAMICS = "Platform to Dynamics"
    BOTH = "Both ways"
    INTO_CONNECTOR = "Into the connector"  # e.g. CRM metadata kept in Table Storage


class Prerequisite(Protocol):
    def refusal(self, services: Runtime, account: EmailAccount) -> str | None:
        """The audit message when a run may not start, else None."""


@dataclass(frozen=True)
class LastRunDidNotFail:
    """Refuse to start when the account's last run of `sync_type` failed."""

    sync_type: SyncType
    message: str

    def refusal(self, services: Runtime, account: EmailAccount) -> str | None:
        last = services.schedules.get(account.account_id, self.sync_type)
        return self.message if last.last_status == AuditStatus.FAILED.value else None


@dataclass(frozen=True)
class SyncDeclaration:
    sync_type: SyncType  # the product's audit name
    platforms: frozenset[Platform]
    direction: Direction
    prerequisites: tuple[Prerequisite, ...] = ()
    summary: str = ""  # one line for `--help` texts and the README table
