"""What a sync handler gets (the context) and gives back (a result, or a pause)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditStatus, Counts
from shared.sync_types import SyncType

if TYPE_CHECKING:
    from shared.runtime import Runtime


@dataclass(frozen=True)
class SyncResult:
    status: AuditStatus = AuditStatus.COMPLETED
    message: str = ""


@dataclass(frozen=True)
class Paused:
    """The handler checkpointed and stopped to stay inside the function's time budget."""


PAUSED = Paused()


@dataclass
class SyncContext:
    """One slice of one run. `cursor` and `counts` survive continuations and crashes."""

    account: EmailAccount
    sync_type: SyncType
    run_id: str
    cursor: dict[str, Any]
    counts: Counts
    services: Runtime
    deadline: float  # time.monotonic() value after which the handler should pause
    save: Callable[[SyncContext], None]
    add_detail: Callable[[AuditDetail], None]
    details: list[AuditDetail] = field(default_factory=list)

    def checkpoint(self, cursor: dict[str, Any]) -> None:
        """Persist progress (and renew the run's lease) after a unit of work is written."""
        self.cursor = cursor
        self.save(self)

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def detail(self, detail: AuditDetail) -> None:
        self.details.append(detail)
        self.add_detail(detail)


class SyncHandler(ABC):
    sync_type: ClassVar[SyncType]

    @abstractmethod
    def run(self, ctx: SyncContext) -> SyncResult | Paused:
        """Do the work from `ctx.cursor` on; checkpoint after each durable step."""
